/// Seeded generator of expert answer sets for benchmarks and differential tests.
///
/// Long answers paraphrase one hidden "script" of concepts: each concept has several surface
/// words (synonyms), and every answer drops, swaps and re-words some of it, so answers on the
/// topic overlap partly, the way paraphrases do. Off-topic answers follow another script.
/// The same seed always gives the same answers.
package struct ConsensusAnswerGenerator {
    private var random: SplitMix64
    private let syllables: [String]
    private var topics: [[[String]]]
    private var filler: [String]

    /// A generator; `unicode` mixes accented, German and Greek letters into the vocabulary.
    package init(seed: UInt64, unicode: Bool = false) {
        random = SplitMix64(seed: seed)
        var syllables = ["ka", "lo", "mi", "ten", "ra", "sul", "ve", "dor", "pi", "nu", "sta", "bel", "qua", "fi", "gro", "tin", "mar", "zo", "ex", "un"]
        if unicode { syllables += ["çé", "ße", "λο", "ná", "ÉV", "ÿu", "Ωμ"] }
        self.syllables = syllables
        topics = []
        filler = []
        var topics: [[[String]]] = []
        for _ in 0..<3 {
            var concepts: [[String]] = []
            for _ in 0..<80 {
                let synonyms = 1 + Int(nextBelow(3))
                concepts.append((0..<synonyms).map { _ in makeWord() })
            }
            topics.append(concepts)
        }
        self.topics = topics
        self.filler = (0..<300).map { _ in makeWord() }
    }

    /// The next 64 random bits.
    package mutating func next() -> UInt64 { random.next() }

    /// Uniform in 0..<bound.
    package mutating func nextBelow(_ bound: UInt64) -> UInt64 {
        bound <= 1 ? 0 : next() % bound
    }

    private mutating func chance(_ p: Double) -> Bool {
        Double(next() >> 11) / Double(1 << 53) < p
    }

    private mutating func makeWord() -> String {
        let count = 2 + Int(nextBelow(2))
        return (0..<count).map { _ in syllables[Int(nextBelow(UInt64(syllables.count)))] }.joined()
    }

    private mutating func pick<T>(_ items: [T]) -> T {
        items[Int(nextBelow(UInt64(items.count)))]
    }

    /// A script: concept indices (>= 0) and stopword slots (-1), `words` long.
    private mutating func script(words: Int) -> [Int] {
        (0..<words).map { _ in
            if chance(0.35) { return -1 }
            let r = Double(next() >> 11) / Double(1 << 53)
            return Int(r * r * 80)
        }
    }

    /// `count` answers of about `words` words on one topic; about `offTopicShare` of them
    /// (never the first) on another. Weights and confidences vary.
    package mutating func answerSet(count: Int, words: Int, offTopicShare: Double = 0.2) -> [ExpertAnswer] {
        let main = script(words: words)
        var answers: [ExpertAnswer] = []
        for index in 0..<count {
            let offTopic = index > 0 && chance(offTopicShare)
            let topic = offTopic ? 1 + Int(nextBelow(2)) : 0
            let plan = offTopic ? script(words: words) : main
            var tokens: [String] = []
            for slot in plan {
                if chance(0.1) { continue }
                if slot < 0 {
                    tokens.append(pick(ConsensusText.stopwords))
                } else if chance(0.15) {
                    tokens.append(pick(filler))
                } else {
                    tokens.append(pick(topics[topic][slot]))
                }
            }
            answers.append(
                ExpertAnswer(
                    expert: "expert\(index + 1)", text: render(tokens),
                    weight: pick([0.5, 1, 1, 1, 2, 3]), confidence: pick([0.6, 0.8, 0.9, 1, 1])))
        }
        return answers
    }

    /// Words as prose: capitalised sentences of 6-15 words, some commas.
    private mutating func render(_ tokens: [String]) -> String {
        var text = ""
        var sentenceLeft = 0
        for token in tokens {
            if sentenceLeft == 0 {
                if !text.isEmpty { text += ". " }
                text += token.prefix(1).uppercased() + token.dropFirst()
                sentenceLeft = 6 + Int(nextBelow(10))
            } else {
                text += chance(0.08) ? ", " + token : " " + token
                sentenceLeft -= 1
            }
        }
        return text.isEmpty ? text : text + "."
    }

    /// `count` short factual answers: the same number, yes/no or letter written several ways,
    /// some wrong values and an occasional off-topic remark.
    package mutating func factualSet(count: Int) -> [ExpertAnswer] {
        let kind = Int(nextBelow(3))
        var answers: [ExpertAnswer] = []
        for index in 0..<count {
            let text: String
            let roll = nextBelow(10)
            if roll == 0 {
                text = pick(["I am not sure about this one", "Hard to say", "It depends on the context", ""])
            } else {
                switch kind {
                case 0:
                    let value = roll < 7 ? 42 : pick([41, 43, 7])
                    let words = [7: "seven", 41: "forty-one", 42: "forty-two", 43: "forty three"][value] ?? "\(value)"
                    text = pick(["\(value)", "\(value).0", "The answer is \(value).", words, "It's \(words)", "**\(value)**"])
                case 1:
                    let yes = roll < 7
                    text = yes ? pick(["Yes", "yes, definitely", "Yep.", "That is correct"]) : pick(["No", "nope", "No, not at all", "That is incorrect"])
                default:
                    let letter = roll < 7 ? "B" : pick(["A", "C", "D"])
                    text = pick(["(\(letter))", "\(letter))", "answer: \(letter.lowercased())", "The answer is \(letter)", "Option \(letter)", letter])
                }
            }
            answers.append(
                ExpertAnswer(
                    expert: "expert\(index + 1)", text: text, weight: pick([0, 0.5, 1, 1, 2]),
                    confidence: pick([0.5, 0.9, 1])))
        }
        return answers
    }

    /// `count` short answers of 5 to 15 words that name central values: a capital, a date, a
    /// distance, mostly the right one written several ways (negations, units, date formats),
    /// some a wrong one in the same words. For the claim check's benchmark and tests.
    package mutating func claimSet(count: Int) -> [ExpertAnswer] {
        let kind = Int(nextBelow(3))
        return (0..<count).map { index in
            let right = nextBelow(10) < 7
            let text: String
            switch kind {
            case 0:
                let city = right ? "Canberra" : pick(["Sydney", "Melbourne"])
                text = pick([
                    "The capital of Australia is \(city).", "\(city) is the capital of Australia.",
                    right ? "It is Canberra, not Sydney." : "It is \(city), not Canberra.",
                    "Australia's capital city is \(city), in the south east.",
                ])
            case 1:
                let day = right ? 20 : pick([16, 21])
                text = pick([
                    "Apollo 11 landed on the Moon on July \(day), 1969.", "It landed on \(day) July 1969.",
                    "The landing was on 1969-07-\(day).", "On the \(day)th of July 1969, Apollo 11 landed.",
                ])
            default:
                let metres = right ? 1500 : pick([1200, 15000])
                text = pick([
                    "The bridge is \(metres) m long.", "It is about \(Double(metres) / 1000) km long.",
                    "The bridge measures \(metres) metres from end to end.",
                ])
            }
            return ExpertAnswer(expert: "expert\(index + 1)", text: text)
        }
    }
}
