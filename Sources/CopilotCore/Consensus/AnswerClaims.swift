import Foundation

/// One central value an answer names: an entity, a date or a number (with its unit).
package struct Claim: Hashable, Sendable {
    /// What kind of value it is; only claims of one kind and ``key`` compete for a slot.
    package enum Kind: Int, Sendable {
        /// A proper name: a run of capitalised words (`Canberra`, `Leonardo da Vinci`).
        case entity
        /// A year, a month of a year or a day (`1969`, `July 1969`, `1969-07-20`).
        case date
        /// A number, bare or with a unit converted to the unit's base (`1.5 km` is `1500 m`).
        case number
    }

    /// The kind of value.
    package var kind: Kind
    /// Entities: the lowercased words joined by single spaces. Numbers: the base unit
    /// (`m`, `kg`, `s`, `°C`, `%`, `USD`, `L`, `B`), empty for a bare number. Dates: empty.
    package var key: String
    /// Numbers: the value in the base unit. Dates: `year * 10_000 + month * 100 + day`, with
    /// 0 for a year, month or day the answer does not give. Entities: 0.
    package var value: Double
    /// An entity the panel writes only as the first word of a sentence: it may be a common
    /// noun ("Photosynthesis turns ..."), so two such names alone never make a contradiction.
    package var isWeakName = false

    /// Creates a claim.
    package init(kind: Kind, key: String, value: Double, isWeakName: Bool = false) {
        self.kind = kind
        self.key = key
        self.value = value
        self.isWeakName = isWeakName
    }

    /// How the claim reads in reports: `canberra`, `1500 m`, `1969-07-20`, `1969-07`, `1969`.
    package var label: String {
        switch kind {
        case .entity:
            return key
        case .number:
            guard !key.isEmpty else { return FactualExtractor.format(value) }
            // Four significant digits: converted values such as 29,032 ft (8848.95 m) read as
            // the 8,849 m they were rounded from.
            let magnitude = value == 0 ? 0 : Int((log10(abs(value))).rounded(.down))
            let scale = pow(10, Double(3 - magnitude))
            let number = FactualExtractor.format((value * scale).rounded() / scale)
            return key == "%" ? number + "%" : number + " " + key
        case .date:
            let whole = Int(value)
            let (year, month, day) = (whole / 10_000, whole / 100 % 100, whole % 100)
            func padded(_ number: Int, _ width: Int) -> String {
                let digits = String(number)
                return String(repeating: "0", count: max(0, width - digits.count)) + digits
            }
            // ISO 8601 writes a day without a year as `--07-20`.
            let yearText = year == 0 ? "-" : padded(year, 4)
            if month == 0 { return yearText }
            return yearText + "-" + padded(month, 2) + (day == 0 ? "" : "-" + padded(day, 2))
        }
    }

    /// Whether two claims name the same value: entities when one's words are all among the
    /// other's (`armstrong` is `neil armstrong`); dates when they agree as far as both are
    /// precise (`1969` and `July 20` are both `1969-07-20`); numbers of one unit within 1% (rounded conversions
    /// such as `5 miles` and `8 km` agree), bare numbers exactly.
    package func matches(_ other: Claim) -> Bool {
        guard kind == other.kind else { return false }
        switch kind {
        case .entity:
            if key == other.key { return true }
            guard key.contains(" ") || other.key.contains(" ") else { return false }
            let a = key.split(separator: " "), b = other.key.split(separator: " ")
            let (short, long) = a.count <= b.count ? (a, b) : (b, a)
            return short.allSatisfy(long.contains)
        case .date:
            let x = Int(value), y = Int(other.value)
            let (yx, yy) = (x / 10_000, y / 10_000)
            if yx != 0 && yy != 0 && yx != yy { return false }
            let (mx, my) = (x / 100 % 100, y / 100 % 100)
            if mx == 0 || my == 0 { return true }
            if mx != my { return false }
            let (dx, dy) = (x % 100, y % 100)
            return dx == 0 || dy == 0 || dx == dy
        case .number:
            guard key == other.key else { return false }
            if key.isEmpty { return value == other.value }
            return abs(value - other.value) <= 0.01 * max(abs(value), abs(other.value))
        }
    }
}

/// The central values one answer asserts and the ones it denies: "Canberra, not Sydney"
/// asserts `canberra` and denies `sydney`.
package struct AnswerClaims: Sendable, Equatable {
    /// Values named outside any negation.
    package var asserted: [Claim] = []
    /// Values named inside a negation; a value both named and denied counts as denied.
    package var denied: [Claim] = []

    /// Creates claims.
    package init(asserted: [Claim] = [], denied: [Claim] = []) {
        self.asserted = asserted
        self.denied = denied
    }

    /// How the claims read in reports: asserted labels, then `not <label>` for each denied.
    package var labels: [String] {
        asserted.map(\.label) + denied.map { "not " + $0.label }
    }
}

/// Two answers that contradict, or that assert the same central value.
package struct ClaimPair: Sendable, Equatable {
    /// Included-answer positions of the two answers, `first < second`.
    package var first: Int
    /// See ``first``.
    package var second: Int
    /// For a contradiction, the values that clash; nil for an agreement.
    package var clash: ClaimClash?
}

/// The two values over which two answers contradict.
package struct ClaimClash: Hashable, Sendable {
    /// The first answer's value, and whether it denies it.
    package var first: Claim
    package var firstDenied: Bool
    /// The second answer's value, and whether it denies it.
    package var second: Claim
    package var secondDenied: Bool

    /// What differs, e.g. `canberra vs sydney` or `not sydney vs sydney` (made only when
    /// asked: formatting labels costs more than finding the clash).
    package var reason: String {
        (firstDenied ? "not " : "") + first.label + " vs " + (secondDenied ? "not " : "") + second.label
    }
}

/// How the answers of a panel relate through their claims.
package struct ClaimRelations: Sendable, Equatable {
    /// Pairs that contradict, in row order.
    package var conflicts: [ClaimPair] = []
    /// Pairs that do not contradict and assert a common value, in row order.
    package var agreements: [ClaimPair] = []
}

/// Finds the central values of short answers and which answers contradict.
///
/// Rules (English, deliberately simple and deterministic):
/// - An entity is a run of capitalised words (connectors such as `of`, `da`, `van` may join
///   them) that are neither stopwords, month names, filler words (`yes`, `well`, ...), words
///   glued to digits (`CO2`) nor words of the question. A word that starts a sentence counts
///   only when it is all capitals or the panel never writes it in lower case ("Sunlight hits"
///   is no name when another answer says "sunlight"); if the panel writes a one-word name
///   only at sentence starts it is weak (it may be a common noun), and two answers whose
///   names are all weak do not contradict over them.
/// - Numbers: digits (thousands commas, one decimal point) or small number words (`two`;
///   `one` only before a unit), times `thousand`/`million`/... A following unit word or `%`,
///   or a leading `$`, converts it to the unit's base: m, kg, s, °C, L, %, USD, B.
/// - Dates: `July 20, 1969`, `20 July 1969`, `the 20th of July 1969`, `1969-07-20`,
///   `July 1969`, and a bare integer 1000...2100 as a year. A day without a year takes the
///   answer's year when it names exactly one ("in 1945 ... on September 2").
/// - Negation denies values: `not`, `never`, `no` (not `no doubt`), `n't`, `no longer`,
///   `rather than`, `instead of`, `misconception`, `myth` deny the values in the next six
///   tokens of their clause; `not`, `n't` and `no longer` before `the`/`a`/`an`, or with no
///   value after them, deny the values before them in the clause instead ("Sydney is not the
///   capital");
///   `wrong`, `incorrect`, `false`, `mistaken` deny the values before them.
/// - The topic is not an answer: values the question names, or without a question the values
///   every answer with claims asserts, are left out before comparing.
/// - Each name becomes the longest name in the panel that holds all its words, so `Vinci`
///   and `Leonardo` are both `leonardo da vinci` when an answer names him so.
/// - Two answers contradict when one denies a value the other asserts, or when for some slot
///   (entities; dates; numbers of one unit) both assert values and none of them match. Two
///   answers that do not contradict and assert a common value agree ("Canberra." and "The
///   capital is Canberra, a planned city."), however few words they share.
package enum ClaimExtractor {
    /// The claims of each text in `texts` (nil: not read, no claims), judged as one panel,
    /// with the question's words and values left out. O(total characters).
    package static func claims(of texts: [String?], question: String?) -> [AnswerClaims] {
        let tokenized = texts.map { $0.map { tokenize(ConsensusText.canonical($0)) } }
        let questionTokens = question.map { tokenize(ConsensusText.canonical($0)) } ?? []
        var lowercase = Set<String>()
        for tokens in tokenized + [questionTokens] {
            for token in tokens ?? [] where token.kind == .word && !token.capitalized { lowercase.insert(token.lower) }
        }
        let questionWords = Set(questionTokens.filter { $0.kind == .word }.map(\.lower))
        var claims = tokenized.map { tokens in
            tokens.map { extract($0, lowercase: lowercase, questionWords: questionWords) } ?? AnswerClaims()
        }
        // Each name as the longest panel name holding all its words (first such, in order).
        var names: [String] = []
        for c in claims {
            for claim in c.asserted + c.denied where claim.kind == .entity && !names.contains(claim.key) { names.append(claim.key) }
        }
        if names.count > 1 {
            var full: [String: String] = [:]
            for name in names {
                let words = name.split(separator: " ")
                var best = name
                for other in names where other.count > best.count {
                    let otherWords = other.split(separator: " ")
                    if words.allSatisfy(otherWords.contains) { best = other }
                }
                full[name] = best
            }
            func widen(_ list: inout [Claim]) {
                for k in list.indices where list[k].kind == .entity { list[k].key = full[list[k].key] ?? list[k].key }
            }
            for k in claims.indices {
                widen(&claims[k].asserted)
                widen(&claims[k].denied)
            }
        }
        // A name is weak only if the whole panel writes it at sentence starts alone.
        var strong = Set<String>()
        for c in claims {
            for claim in c.asserted + c.denied where claim.kind == .entity && !claim.isWeakName { strong.insert(claim.key) }
        }
        for k in claims.indices {
            for m in claims[k].asserted.indices where strong.contains(claims[k].asserted[m].key) { claims[k].asserted[m].isWeakName = false }
            for m in claims[k].denied.indices where strong.contains(claims[k].denied[m].key) { claims[k].denied[m].isWeakName = false }
        }
        let topic: [Claim]
        if question != nil {
            // Names of the question are already left out word by word; its numbers and dates
            // (`Apollo 11`, `in 1921`) are left out here.
            let named = extract(questionTokens, lowercase: [], questionWords: [])
            topic = (named.asserted + named.denied).filter { $0.kind != .entity }
        } else {
            topic = commonAsserted(claims)
        }
        if !topic.isEmpty {
            for k in claims.indices {
                claims[k].asserted.removeAll { claim in topic.contains { $0.matches(claim) } }
                claims[k].denied.removeAll { claim in topic.contains { $0.matches(claim) } }
            }
        }
        return claims
    }

    /// Values every answer that has claims asserts (at least two such answers), the topic
    /// when there is no question: "Australia" in four answers about its capital.
    static func commonAsserted(_ claims: [AnswerClaims]) -> [Claim] {
        let withClaims = claims.filter { !$0.asserted.isEmpty || !$0.denied.isEmpty }
        guard withClaims.count >= 2 else { return [] }
        return withClaims[0].asserted.filter { claim in
            withClaims.allSatisfy { other in other.asserted.contains { $0.matches(claim) } }
        }
    }

    /// Pairs of answers that contradict and pairs that agree, in row order (first, then
    /// second ascending). O(n² c²) for c claims per answer; short answers
    /// have few.
    package static func relations(_ claims: [AnswerClaims]) -> ClaimRelations {
        var found = ClaimRelations()
        for i in claims.indices {
            for j in (i + 1)..<max(i + 1, claims.count) {
                if let clash = conflict(claims[i], claims[j]) {
                    found.conflicts.append(ClaimPair(first: i, second: j, clash: clash))
                } else if claims[i].asserted.contains(where: { x in claims[j].asserted.contains { x.matches($0) } }) {
                    found.agreements.append(ClaimPair(first: i, second: j))
                }
            }
        }
        return found
    }

    /// Why `a` and `b` contradict, or nil when they do not.
    static func conflict(_ a: AnswerClaims, _ b: AnswerClaims) -> ClaimClash? {
        for denied in a.denied {
            if let hit = b.asserted.first(where: { $0.matches(denied) }) {
                return ClaimClash(first: denied, firstDenied: true, second: hit, secondDenied: false)
            }
        }
        for denied in b.denied {
            if let hit = a.asserted.first(where: { $0.matches(denied) }) {
                return ClaimClash(first: hit, firstDenied: false, second: denied, secondDenied: true)
            }
        }
        for x in a.asserted {
            let slotA = a.asserted.filter { $0.kind == x.kind && ($0.kind == .entity || $0.key == x.key) }
            guard slotA.first == x else { continue }  // each slot once, at its first claim
            let slotB = b.asserted.filter { $0.kind == x.kind && ($0.kind == .entity || $0.key == x.key) }
            guard let y = slotB.first else { continue }
            if x.kind == .entity && slotA.allSatisfy(\.isWeakName) && slotB.allSatisfy(\.isWeakName) { continue }
            if !slotA.contains(where: { p in slotB.contains { p.matches($0) } }) {
                return ClaimClash(first: x, firstDenied: false, second: y, secondDenied: false)
            }
        }
        return nil
    }

    // MARK: tokens

    /// A word, a number or a break, as the claim rules see text.
    struct Token {
        enum Kind { case word, number, symbol, clauseBreak, sentenceBreak }
        var kind: Kind
        /// Words: lowercased. Symbols: the symbol (`%`, `$`, `-`, `'`).
        var lower = ""
        /// Words: the first scalar is upper or title case.
        var capitalized = false
        /// Words: two or more letters, all capitals (`NASA`).
        var allCaps = false
        /// The first word or number of a sentence.
        var sentenceStart = false
        /// Nothing separates this token from the one before (`20th`, `5km`, `1969-07`).
        var glued = false
        /// Numbers: the value, whether it had a decimal point or thousands commas, and its
        /// digit count.
        var value = 0.0
        var integral = true
        var grouped = false
        var digits = 0
    }

    private static let clauseSymbols: Set<Unicode.Scalar> = [
        ",", ";", ":", "(", ")", "[", "]", "\"", "\u{201C}", "\u{201D}", "\u{2014}", "\u{2013}",
    ]
    private static let keptSymbols: Set<Unicode.Scalar> = ["%", "$", "-", "'", "\u{2019}", "/", "°"]

    /// Tokens of NFC text. Digits are read as numbers (`1,000.5`), other word scalars as words.
    static func tokenize(_ text: String) -> [Token] {
        var tokens: [Token] = []
        let scalars = Array(text.unicodeScalars)
        var i = 0
        var sentenceStart = true
        var glued = false
        func isDigit(_ k: Int) -> Bool { k < scalars.count && scalars[k].value >= 0x30 && scalars[k].value <= 0x39 }
        while i < scalars.count {
            let s = scalars[i]
            if isDigit(i) {
                var token = Token(kind: .number, sentenceStart: sentenceStart, glued: glued)
                var literal = ""
                while i < scalars.count {
                    if isDigit(i) {
                        literal.unicodeScalars.append(scalars[i])
                        token.digits += 1
                        i += 1
                    } else if scalars[i] == ",", token.integral, isDigit(i + 1), isDigit(i + 2), isDigit(i + 3), !isDigit(i + 4) {
                        token.grouped = true
                        i += 1
                    } else if scalars[i] == ".", token.integral, isDigit(i + 1) {
                        literal.append(".")
                        token.integral = false
                        i += 1
                    } else {
                        break
                    }
                }
                token.value = Double(literal) ?? 0
                tokens.append(token)
                sentenceStart = false
                glued = true
            } else if ConsensusText.isWordScalar(s) {
                var token = Token(kind: .word, sentenceStart: sentenceStart, glued: glued)
                token.capitalized = s.properties.isUppercase || s.properties.generalCategory == .titlecaseLetter
                var letters = 0, capitals = 0
                while i < scalars.count, ConsensusText.isWordScalar(scalars[i]), !isDigit(i) {
                    let properties = scalars[i].properties
                    if properties.isAlphabetic { letters += 1 }
                    if properties.isUppercase { capitals += 1 }
                    token.lower += properties.lowercaseMapping
                    i += 1
                }
                token.allCaps = letters >= 2 && capitals == letters
                tokens.append(token)
                sentenceStart = false
                glued = true
            } else {
                if s == "." || s == "!" || s == "?" || s == "\n" {
                    if tokens.last.map({ $0.kind != .sentenceBreak }) ?? false { tokens.append(Token(kind: .sentenceBreak)) }
                    sentenceStart = true
                } else if clauseSymbols.contains(s) {
                    if tokens.last.map({ $0.kind == .word || $0.kind == .number || $0.kind == .symbol }) ?? false {
                        tokens.append(Token(kind: .clauseBreak))
                    }
                } else if keptSymbols.contains(s) {
                    tokens.append(Token(kind: .symbol, lower: String(s), glued: glued))
                    glued = true
                    i += 1
                    continue
                }
                glued = false
                i += 1
            }
        }
        return tokens
    }

    // MARK: claims

    private static let stopwords = Set(ConsensusText.stopwords)
    private static let months: [String: Int] = [
        "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7, "august": 8,
        "september": 9, "october": 10, "november": 11, "december": 12,
        "jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9, "oct": 10,
        "nov": 11, "dec": 12,
    ]
    /// Capitalised words that are not names: fillers, hedges and the negation words.
    private static let fillers: Set<String> = [
        "yes", "yeah", "yep", "nope", "well", "ok", "okay", "sure", "maybe", "perhaps", "actually", "indeed",
        "however", "probably", "certainly", "definitely", "absolutely", "correct", "incorrect", "true", "false",
        "answer", "note", "hmm", "hi", "hello", "thanks", "please", "never", "instead", "rather", "although",
        "though", "yet", "still", "many", "let", "sorry",
    ]
    private static let connectors: Set<String> = ["of", "de", "da", "di", "van", "von", "der", "del", "la", "le", "du", "bin"]
    private static let clauseWords: Set<String> = ["but", "while", "whereas", "although", "though", "however", "yet"]
    private static let negatedAuxiliaries: Set<String> = [
        "isn", "wasn", "aren", "weren", "doesn", "didn", "don", "won", "can", "couldn", "shouldn", "hasn", "haven",
        "hadn", "wouldn", "mustn",
    ]
    private static let determiners: Set<String> = ["the", "a", "an"]
    private static let forwardDenials: Set<String> = ["never", "misconception", "myth"]
    private static let backwardDenials: Set<String> = ["wrong", "incorrect", "false", "mistaken"]
    private static let numberWords: [String: Double] = [
        "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
        "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
        "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50,
        "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90, "dozen": 12,
    ]
    private static let scales: [String: Double] = [
        "hundred": 100, "thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12,
    ]
    private static let ordinalSuffixes: Set<String> = ["st", "nd", "rd", "th"]

    /// A unit: its base unit and the factor to it (temperatures convert separately).
    private struct Unit {
        var base: String
        var factor: Double
    }

    private static let units: [String: Unit] = {
        var table: [String: Unit] = [:]
        func add(_ base: String, _ factor: Double, _ names: [String]) {
            for name in names { table[name] = Unit(base: base, factor: factor) }
        }
        add("m", 1, ["m", "meter", "meters", "metre", "metres"])
        add("m", 1000, ["km", "kilometer", "kilometers", "kilometre", "kilometres"])
        add("m", 0.01, ["cm", "centimeter", "centimeters", "centimetre", "centimetres"])
        add("m", 0.001, ["mm", "millimeter", "millimeters", "millimetre", "millimetres"])
        add("m", 1609.344, ["mi", "mile", "miles"])
        add("m", 0.3048, ["ft", "foot", "feet"])
        add("m", 0.0254, ["inch", "inches"])
        add("m", 0.9144, ["yd", "yard", "yards"])
        add("kg", 1, ["kg", "kilogram", "kilograms", "kilo", "kilos"])
        add("kg", 0.001, ["g", "gram", "grams", "gramme", "grammes"])
        add("kg", 1e-6, ["mg", "milligram", "milligrams"])
        add("kg", 1000, ["tonne", "tonnes"])
        add("kg", 0.45359237, ["lb", "lbs", "pound", "pounds"])
        add("kg", 0.028349523125, ["oz", "ounce", "ounces"])
        add("s", 1, ["sec", "secs", "second", "seconds"])
        add("s", 0.001, ["ms", "millisecond", "milliseconds"])
        add("s", 60, ["min", "mins", "minute", "minutes"])
        add("s", 3600, ["h", "hr", "hrs", "hour", "hours"])
        add("s", 86400, ["day", "days"])
        add("s", 604_800, ["week", "weeks"])
        add("s", 31_557_600, ["year", "years"])
        add("L", 1, ["l", "liter", "liters", "litre", "litres"])
        add("L", 0.001, ["ml", "milliliter", "milliliters", "millilitre", "millilitres"])
        add("%", 1, ["percent", "%"])
        add("USD", 1, ["dollar", "dollars", "usd", "$"])
        add("B", 1, ["byte", "bytes"])
        add("B", 1e3, ["kb", "kilobyte", "kilobytes"])
        add("B", 1e6, ["mb", "megabyte", "megabytes"])
        add("B", 1e9, ["gb", "gigabyte", "gigabytes"])
        add("B", 1e12, ["tb", "terabyte", "terabytes"])
        return table
    }()

    /// Temperature units, converted to °C.
    private static let temperatures: Set<String> = ["c", "celsius", "centigrade", "f", "fahrenheit", "k", "kelvin"]

    /// The claims of one tokenized text. Names whose words the question uses are skipped;
    /// a sentence-initial word is a name only if `lowercase` (the panel's lower-case words)
    /// lacks it.
    static func extract(_ tokens: [Token], lowercase: Set<String>, questionWords: Set<String>) -> AnswerClaims {
        var found: [(claim: Claim, start: Int, end: Int)] = []
        func word(_ k: Int) -> String? { k >= 0 && k < tokens.count && tokens[k].kind == .word ? tokens[k].lower : nil }
        func isName(_ k: Int) -> Bool {
            let t = tokens[k]
            guard t.kind == .word, t.capitalized, t.lower.unicodeScalars.count >= 2 || t.allCaps,
                !stopwords.contains(t.lower), !fillers.contains(t.lower), months[t.lower] == nil,
                !questionWords.contains(t.lower),
                // A word glued to digits is a formula or a model (`CO2`, `A380`), not a name.
                !(k + 1 < tokens.count && tokens[k + 1].kind == .number && tokens[k + 1].glued)
            else { return false }
            if !t.sentenceStart || t.allCaps { return true }
            return !lowercase.contains(t.lower) && !t.lower.hasSuffix("ly")
        }
        var i = 0
        while i < tokens.count {
            if let (claim, end) = number(tokens, at: i) ?? date(tokens, at: i) {
                found.append((claim, i, end))
                i = end + 1
            } else if isName(i) {
                var words = [tokens[i].lower]
                var end = i
                var k = i + 1
                while k < tokens.count {
                    if isName(k) && !tokens[k].sentenceStart {
                        words.append(tokens[k].lower)
                        end = k
                        k += 1
                    } else if let connector = word(k), connectors.contains(connector), k + 1 < tokens.count, isName(k + 1) {
                        words.append(connector)
                        k += 1
                    } else {
                        break
                    }
                }
                let weak = tokens[i].sentenceStart && !tokens[i].allCaps && words.count == 1
                found.append((Claim(kind: .entity, key: words.joined(separator: " "), value: 0, isWeakName: weak), i, end))
                i = end + 1
            } else {
                i += 1
            }
        }
        guard !found.isEmpty else { return AnswerClaims() }

        // Negation scopes.
        var denied = [Bool](repeating: false, count: found.count)
        func isBoundary(_ k: Int) -> Bool {
            let t = tokens[k]
            return t.kind == .clauseBreak || t.kind == .sentenceBreak || (t.kind == .word && clauseWords.contains(t.lower))
        }
        func clauseStart(_ k: Int) -> Int {
            var lo = k
            while lo > 0, !isBoundary(lo - 1) { lo -= 1 }
            return lo
        }
        func denyForward(from k: Int) -> Bool {
            var hi = k
            while hi + 1 < tokens.count, hi + 1 <= k + 6, !isBoundary(hi + 1) { hi += 1 }
            var any = false
            for f in found.indices where found[f].start > k && found[f].start <= hi {
                denied[f] = true
                any = true
            }
            return any
        }
        func denyBackward(from k: Int) {
            let lo = clauseStart(k)
            for f in found.indices where found[f].end < k && found[f].start >= lo { denied[f] = true }
        }
        for k in tokens.indices {
            guard let w = word(k) else { continue }
            let next = word(k + 1)
            let verbNegation = w == "not" || (w == "t" && tokens[k].glued && k >= 2 && tokens[k - 1].kind == .symbol
                && word(k - 2).map(negatedAuxiliaries.contains) == true)
            if verbNegation {
                if next == "only" { continue }
                if let next, determiners.contains(next) {
                    denyBackward(from: k)
                } else if !denyForward(from: k) {
                    denyBackward(from: k)
                }
            } else if w == "no" && next == "longer" {
                // Like `not`: "no longer Almaty", "Almaty is no longer the capital".
                if let after = word(k + 2), determiners.contains(after) {
                    denyBackward(from: k)
                } else if !denyForward(from: k + 1) {
                    denyBackward(from: k)
                }
            } else if w == "no" {
                if next == "doubt" || next == "matter" { continue }
                _ = denyForward(from: k)
            } else if forwardDenials.contains(w) || (w == "than" && word(k - 1) == "rather")
                || (w == "of" && word(k - 1) == "instead")
            {
                _ = denyForward(from: k)
            } else if backwardDenials.contains(w) {
                denyBackward(from: k)
            }
        }

        // "in 1945, ... on September 2": a day without a year takes the answer's one year.
        let years = found.indices.filter { found[$0].claim.kind == .date && Int(found[$0].claim.value) % 10_000 == 0 }
        let yearless = found.indices.filter { found[$0].claim.kind == .date && Int(found[$0].claim.value) < 10_000 }
        if years.count == 1, !yearless.isEmpty {
            for f in yearless { found[f].claim.value += found[years[0]].claim.value }
            found.remove(at: years[0])
            denied.remove(at: years[0])
        }
        var claims = AnswerClaims()
        for (f, item) in found.enumerated() where denied[f] {
            if !claims.denied.contains(where: { $0.kind == item.claim.kind && $0.key == item.claim.key && $0.value == item.claim.value }) {
                claims.denied.append(item.claim)
            }
        }
        for (f, item) in found.enumerated() where !denied[f] {
            if !claims.denied.contains(where: { $0.matches(item.claim) })
                && !claims.asserted.contains(where: { $0.kind == item.claim.kind && $0.key == item.claim.key && $0.value == item.claim.value })
            {
                claims.asserted.append(item.claim)
            }
        }
        return claims
    }

    /// A number at token `i` (digits or a small number word) with its scale and unit, or a
    /// bare year; nil when the token starts no number or the number is part of a date.
    /// Returns the claim and the index of its last token.
    private static func number(_ tokens: [Token], at i: Int) -> (Claim, Int)? {
        func word(_ k: Int) -> String? { k < tokens.count && tokens[k].kind == .word ? tokens[k].lower : nil }
        let t = tokens[i]
        var value: Double
        var k = i + 1
        var spelled = false
        if t.kind == .number {
            // Dates first: `20 July`, `20th of July`, `1969-07-20`.
            if date(tokens, at: i) != nil { return nil }
            if i >= 1, let month = word(i - 1), months[month] != nil, t.integral, t.value >= 1, t.value <= 31 { return nil }
            value = t.value
            if i >= 1, tokens[i - 1].kind == .symbol, tokens[i - 1].lower == "-", !(i >= 2 && tokens[i - 2].kind == .number) {
                value = -value
            }
            if let suffix = word(k), tokens[k].glued, ordinalSuffixes.contains(suffix) { return nil }
        } else if let w = word(i), let small = numberWords[w] {
            value = small
            spelled = true
            if let unitsWord = word(k), let unit = numberWords[unitsWord], small >= 20, small.truncatingRemainder(dividingBy: 10) == 0, unit < 10 {
                value += unit
                k += 1
            } else if k < tokens.count, tokens[k].kind == .symbol, tokens[k].lower == "-", let unitsWord = word(k + 1), let unit = numberWords[unitsWord], unit < 10 {
                value += unit
                k += 2
            }
        } else {
            return nil
        }
        var end = k - 1
        if let scaleWord = word(k), let scale = scales[scaleWord] {
            value *= scale
            end = k
            k += 1
        }
        var unitName: String?
        if i >= 1, tokens[i - 1].kind == .symbol, tokens[i - 1].lower == "$" {
            unitName = "$"
        } else if k < tokens.count, tokens[k].kind == .symbol, tokens[k].lower == "%" {
            unitName = "%"
            end = k
        } else {
            var u = k
            if word(u) == "degrees" || word(u) == "degree" || (u < tokens.count && tokens[u].kind == .symbol && tokens[u].lower == "°") { u += 1 }
            // `C`, `F` and `K` are temperatures only after `degrees` or `°`.
            if let name = word(u), units[name] != nil || (temperatures.contains(name) && (u > k || name.count > 1)) {
                unitName = name
                end = u
            } else if word(k) == "per", word(k + 1) == "cent" {
                unitName = "%"
                end = k + 1
            }
        }
        if let unitName {
            if temperatures.contains(unitName) {
                let celsius = unitName.hasPrefix("f") ? (value - 32) * 5 / 9 : unitName.hasPrefix("k") ? value - 273.15 : value
                return (Claim(kind: .number, key: "°C", value: celsius), end)
            }
            if let unit = units[unitName] { return (Claim(kind: .number, key: unit.base, value: value * unit.factor), end) }
        }
        // A number glued to letters (`mp3`, `1960s`, `A380`) or a lone spelled `one` says nothing.
        if !spelled, end + 1 < tokens.count, tokens[end + 1].kind == .word, tokens[end + 1].glued { return nil }
        if !spelled, i >= 1, tokens[i - 1].kind == .word, t.glued { return nil }
        if spelled && value == 1 && end == i { return nil }
        if t.kind == .number, end == i, t.integral, !t.grouped, t.digits == 4, value >= 1000, value <= 2100 {
            return (Claim(kind: .date, key: "", value: value * 10_000), i)
        }
        return (Claim(kind: .number, key: "", value: value), end)
    }

    /// A date starting at token `i`: `July 20[th][,] [1969]`, `20[th] [of] July [1969]`,
    /// `July 1969`, `1969-07-20`. Returns the claim and the index of its last token.
    private static func date(_ tokens: [Token], at i: Int) -> (Claim, Int)? {
        func word(_ k: Int) -> String? { k < tokens.count && tokens[k].kind == .word ? tokens[k].lower : nil }
        func integer(_ k: Int, _ range: ClosedRange<Double>) -> Double? {
            guard k < tokens.count, tokens[k].kind == .number, tokens[k].integral, !tokens[k].grouped,
                range.contains(tokens[k].value)
            else { return nil }
            return tokens[k].value
        }
        func dash(_ k: Int) -> Bool { k < tokens.count && tokens[k].kind == .symbol && tokens[k].lower == "-" && tokens[k].glued }
        /// Skips a glued ordinal suffix and an optional comma after a day.
        func afterDay(_ k: Int) -> Int {
            var k = k
            if let suffix = word(k), tokens[k].glued, ordinalSuffixes.contains(suffix) { k += 1 }
            return k
        }
        func year(_ k: Int) -> (Double, Int)? {
            var k = k
            if k < tokens.count, tokens[k].kind == .clauseBreak { k += 1 }
            guard let y = integer(k, 1000...2100), tokens[k].digits == 4 else { return nil }
            return (y, k)
        }
        // ISO: 1969-07-20 or 1969-07.
        if let y = integer(i, 1000...2100), tokens[i].digits == 4, dash(i + 1), let m = integer(i + 2, 1...12), tokens[i + 2].glued {
            if dash(i + 3), let d = integer(i + 4, 1...31), tokens[i + 4].glued {
                return (Claim(kind: .date, key: "", value: y * 10_000 + m * 100 + d), i + 4)
            }
            return (Claim(kind: .date, key: "", value: y * 10_000 + m * 100), i + 2)
        }
        // Month first: July 20, 1969 / July 20 / July 1969.
        if let name = word(i), let m = months[name].map(Double.init) {
            if name == "may" || name == "mar" || name == "jan" || name == "dec", !tokens[i].capitalized { return nil }
            if let d = integer(i + 1, 1...31), tokens[i + 1].digits <= 2 {
                let k = afterDay(i + 2)
                if let (y, end) = year(k) { return (Claim(kind: .date, key: "", value: y * 10_000 + m * 100 + d), end) }
                return (Claim(kind: .date, key: "", value: m * 100 + d), k - 1)
            }
            if let (y, end) = year(i + 1) { return (Claim(kind: .date, key: "", value: y * 10_000 + m * 100), end) }
            return nil
        }
        // Day first: 20 July 1969 / 20th of July / 20 July.
        if let d = integer(i, 1...31), tokens[i].digits <= 2 {
            var k = afterDay(i + 1)
            if word(k) == "of" { k += 1 }
            guard let name = word(k), let m = months[name].map(Double.init) else { return nil }
            if let (y, end) = year(k + 1) { return (Claim(kind: .date, key: "", value: y * 10_000 + m * 100 + d), end) }
            return (Claim(kind: .date, key: "", value: m * 100 + d), k)
        }
        return nil
    }
}
