/// The kinds of short factual answer that are voted on by value, in tie-break order.
package enum FactualKind: Int, CaseIterable, Sendable {
    /// A number, in digits (`42`, `42.0`, `1,000`, `-3.5`) or English words (`forty-two`).
    case number
    /// A multiple-choice letter A-J: `(B)`, `B)`, `b.`, `answer: b`, `option C`, a lone `d`.
    case choice
    /// Yes or no (`Yes, definitely`, `nope`, `not correct`).
    case yesNo

    /// Prefix of the vote key, e.g. `number`.
    package var name: String {
        switch self {
        case .number: "number"
        case .choice: "choice"
        case .yesNo: "yes/no"
        }
    }
}

/// What one answer says as a fact, per kind; nil where the answer says nothing of that kind
/// or says two different things (`between 40 and 45` has no single number).
package struct FactualValues: Equatable, Sendable {
    /// Canonical number: integral values without a fraction (`42`), others shortest (`3.5`).
    package var number: String?
    /// Upper-case letter, e.g. `B`.
    package var choice: String?
    /// `yes` or `no`.
    package var yesNo: String?

    /// The value of one kind.
    package subscript(kind: FactualKind) -> String? {
        switch kind {
        case .number: number
        case .choice: choice
        case .yesNo: yesNo
        }
    }
}

/// Extracts numbers, choice letters and yes/no from short answers.
///
/// Deliberately one implementation shared by the optimized aggregator and CopilotReference:
/// it runs only on short answers (at most `factualMaxWords` words), so it is not on the hot
/// path, and its rules are tested directly.
package enum FactualExtractor {
    /// All three readings of `text`.
    package static func extract(_ text: String) -> FactualValues {
        let canonical = ConsensusText.canonical(text)
        let words = ConsensusText.words(canonical)
        return FactualValues(
            number: number(canonical, words: words), choice: choice(canonical, words: words),
            yesNo: yesNo(words))
    }

    // MARK: numbers

    private static let units: [String: Double] = [
        "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
        "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
        "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
        "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
        "seventy": 70, "eighty": 80, "ninety": 90,
    ]
    private static let scales: [String: Double] = [
        "thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12,
    ]

    /// The one number `text` states (digits or words), canonical; nil for none or several.
    package static func number(_ text: String, words: [String]) -> String? {
        var values: [Double] = digitLiterals(text)
        values.append(contentsOf: numberWordValues(words))
        guard let first = values.first, values.allSatisfy({ $0 == first }) else { return nil }
        return format(first)
    }

    /// Number values of a panel with units taken into account: when its answers give one
    /// kind of unit in ways the bare numbers hide (`1.5 km` and `1500 m` are equal, `5 kg` and
    /// `5 g` are not), the answers with a unit of that kind are voted on by the value in the
    /// base unit (`1500 m`, ``Claim/label``). Otherwise `values` is returned unchanged, so
    /// `100` and `100 °C` still agree. `texts[k]` is the answer `values[k]` was read from.
    package static func unitValues(_ texts: [String], values: [String?]) -> [String?] {
        var quantities = [Claim?](repeating: nil, count: texts.count)
        for k in texts.indices where values[k] != nil {
            let found = ClaimExtractor.claims(of: [texts[k]], question: nil)[0].asserted.filter {
                $0.kind == .number && !$0.key.isEmpty
            }
            if found.count == 1 { quantities[k] = found[0] }
        }
        var rewritten = values
        var bases: [String] = []
        for quantity in quantities { if let quantity, !bases.contains(quantity.key) { bases.append(quantity.key) } }
        for base in bases {
            let members = texts.indices.filter { quantities[$0]?.key == base }
            let hidden = members.contains { a in
                members.contains { b in (values[a] == values[b]) != (quantities[a]?.label == quantities[b]?.label) }
            }
            if hidden {
                for k in members { rewritten[k] = quantities[k]?.label }
            }
        }
        return rewritten
    }

    /// Canonical spelling of a number: `42` for 42.0, shortest decimal otherwise.
    package static func format(_ value: Double) -> String {
        if value == value.rounded() && abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }

    /// Numbers written with ASCII digits: optional leading `-`, thousands commas, one fraction.
    private static func digitLiterals(_ text: String) -> [Double] {
        let bytes = Array(text.utf8)
        func isDigit(_ i: Int) -> Bool { i >= 0 && i < bytes.count && bytes[i] >= 0x30 && bytes[i] <= 0x39 }
        func isAlnum(_ i: Int) -> Bool {
            guard i >= 0 && i < bytes.count else { return false }
            let b = bytes[i]
            return (b >= 0x30 && b <= 0x39) || ((b | 0x20) >= 0x61 && (b | 0x20) <= 0x7A) || b >= 0x80
        }
        var values: [Double] = []
        var i = 0
        while i < bytes.count {
            guard isDigit(i), !isAlnum(i - 1), !(i >= 1 && bytes[i - 1] == UInt8(ascii: ".") && isDigit(i - 2)) else {
                i += 1
                continue
            }
            var literal = ""
            if i >= 1 && bytes[i - 1] == UInt8(ascii: "-") && !isAlnum(i - 2) { literal = "-" }
            var j = i
            while isDigit(j) {
                literal.append(Character(Unicode.Scalar(bytes[j])))
                j += 1
            }
            while j < bytes.count, bytes[j] == UInt8(ascii: ","), isDigit(j + 1), isDigit(j + 2), isDigit(j + 3), !isDigit(j + 4) {
                for k in 1...3 { literal.append(Character(Unicode.Scalar(bytes[j + k]))) }
                j += 4
            }
            if j < bytes.count, bytes[j] == UInt8(ascii: "."), isDigit(j + 1) {
                literal.append(".")
                j += 1
                while isDigit(j) {
                    literal.append(Character(Unicode.Scalar(bytes[j])))
                    j += 1
                }
            }
            if let value = Double(literal), value.isFinite { values.append(value) }
            i = j
        }
        return values
    }

    /// Numbers written in English words: `forty two`, `one hundred and five`, `two thousand`.
    private static func numberWordValues(_ words: [String]) -> [Double] {
        var values: [Double] = []
        var total = 0.0, current = 0.0
        var inNumber = false
        func finish() {
            if inNumber { values.append(total + current) }
            total = 0
            current = 0
            inNumber = false
        }
        for (index, word) in words.enumerated() {
            if let unit = units[word] {
                current += unit
                inNumber = true
            } else if word == "hundred" {
                current = (current == 0 ? 1 : current) * 100
                inNumber = true
            } else if let scale = scales[word] {
                total += (current == 0 ? 1 : current) * scale
                current = 0
                inNumber = true
            } else if word == "and", inNumber, index + 1 < words.count,
                units[words[index + 1]] != nil || words[index + 1] == "hundred"
            {
                continue
            } else {
                finish()
            }
        }
        finish()
        return values
    }

    // MARK: choice letters

    private static func choiceLetter(_ byte: UInt8) -> String? {
        let lower = byte | 0x20
        guard lower >= UInt8(ascii: "a") && lower <= UInt8(ascii: "j") else { return nil }
        return String(Character(Unicode.Scalar(lower - 0x20)))
    }

    /// The one choice letter `text` names; nil for none or several.
    package static func choice(_ text: String, words: [String]) -> String? {
        var letters: [String] = []
        if words.count == 1, let only = words.first?.utf8, only.count == 1, let l = choiceLetter(only[only.startIndex]) {
            letters.append(l)
        }
        let bytes = Array(text.utf8)
        // "(b)" anywhere.
        var i = 0
        while i + 2 < bytes.count {
            if bytes[i] == UInt8(ascii: "("), bytes[i + 2] == UInt8(ascii: ")"), let l = choiceLetter(bytes[i + 1]) {
                letters.append(l)
            }
            i += 1
        }
        // "B)", "b." or "C:" at the start, followed by the end or a space.
        if let start = bytes.firstIndex(where: { $0 != 0x20 && $0 != 0x09 && $0 != 0x0A && $0 != 0x0D }),
            start + 1 < bytes.count, let l = choiceLetter(bytes[start]),
            [UInt8(ascii: ")"), UInt8(ascii: "."), UInt8(ascii: ":")].contains(bytes[start + 1]),
            start + 2 == bytes.count || [0x20, 0x09, 0x0A, 0x0D].contains(bytes[start + 2])
        {
            letters.append(l)
        }
        // "answer: b", "the answer is c", "option a", "choice d".
        for (index, word) in words.enumerated() where ["answer", "option", "choice"].contains(word) {
            var next = index + 1
            if next < words.count && words[next] == "is" { next += 1 }
            if next < words.count, words[next].utf8.count == 1, let l = choiceLetter(words[next].utf8.first ?? 0) {
                letters.append(l)
            }
        }
        guard let first = letters.first, letters.allSatisfy({ $0 == first }) else { return nil }
        return first
    }

    // MARK: yes / no

    private static let yesWords: Set<String> = ["yes", "yeah", "yep", "yup", "aye", "true", "correct", "affirmative", "absolutely"]
    private static let noWords: Set<String> = ["no", "nope", "nah", "false", "incorrect", "negative", "wrong"]

    /// `yes` or `no` when the words say only one of them (`not` before a yes-word says no).
    package static func yesNo(_ words: [String]) -> String? {
        var sawYes = false, sawNo = false
        for (index, word) in words.enumerated() {
            if yesWords.contains(word) {
                if index > 0 && words[index - 1] == "not" { sawNo = true } else { sawYes = true }
            } else if noWords.contains(word) {
                sawNo = true
            }
        }
        if sawYes == sawNo { return nil }
        return sawYes ? "yes" : "no"
    }
}
