@testable import CopilotCore
import CopilotReference
import Foundation
import Testing

/// The optimized aggregator against CopilotReference on generated answer sets: same mode,
/// groups, consensus, dissent and exclusions; support, agreement and matrix within 1e-9.
///
/// CopilotReference is the Python prototype's twin and has no claim rules (contradictions,
/// value links). A report whose claims decided something (`claimsDecided`; those rules are
/// checked on their own in ConsensusContradictionTests) is compared with the claim check
/// turned off instead, so every input is still compared, one way or the other.
@Suite struct ConsensusDifferentialTests {
    func expectSame(
        _ answers: [ExpertAnswer], options: ConsensusOptions, label: String,
        intersection: ConsensusAggregator.IntersectionMethod = .automatic
    ) {
        var aggregator = ConsensusAggregator(options: options)
        aggregator.intersection = intersection
        var fast = Result { try aggregator.aggregate(answers) }
        if case .success(let report) = fast, report.claimsDecided {
            var off = options
            off.claimMaxWords = 0
            aggregator = ConsensusAggregator(options: off)
            aggregator.intersection = intersection
            fast = Result { try aggregator.aggregate(answers) }
        }
        let plain = Result { try ReferenceConsensusAggregator(options: options).aggregate(answers) }
        switch (fast, plain) {
        case (.success(let a), .success(let b)):
            #expect(a.mode == b.mode, "\(label)")
            #expect(a.included == b.included && a.excluded == b.excluded, "\(label)")
            #expect(a.group == b.group, "\(label)")
            #expect(a.consensusIndex == b.consensusIndex, "\(label)")
            #expect(a.winningGroup == b.winningGroup, "\(label)")
            #expect(a.dissent == b.dissent, "\(label)")
            #expect(a.values == b.values && a.answer == b.answer, "\(label)")
            #expect(abs(a.agreement - b.agreement) <= 1e-9, "\(label)")
            #expect(a.support.count == b.support.count, "\(label)")
            #expect(zip(a.support, b.support).allSatisfy { abs($0 - $1) <= 1e-9 }, "\(label)")
            #expect(a.similarity.count == b.similarity.count, "\(label)")
            #expect(zip(a.similarity, b.similarity).allSatisfy { abs($0 - $1) <= 1e-9 }, "\(label)")
        case (.failure(let a), .failure(let b)):
            #expect(String(describing: a) == String(describing: b), "\(label)")
        default:
            Issue.record("one aggregator failed and the other did not: \(label)")
        }
    }

    @Test(arguments: 0..<8)
    func generatedTextSets(seed: Int) {
        var generator = ConsensusAnswerGenerator(seed: UInt64(seed) &* 7919, unicode: seed % 2 == 1)
        for round in 0..<12 {
            let count = 1 + Int(generator.nextBelow(14))
            let words = [1, 3, 8, 20, 60, 150][Int(generator.nextBelow(6))]
            var answers = generator.answerSet(count: count, words: words, offTopicShare: 0.3)
            if generator.nextBelow(4) == 0 { answers[Int(generator.nextBelow(UInt64(count)))].text = " ,. " }
            if generator.nextBelow(4) == 0 { answers[Int(generator.nextBelow(UInt64(count)))].weight = 0 }
            var options = ConsensusOptions.defaults
            options.threshold = [0, 0.05, 0.15, 0.3, 0.6, 1][Int(generator.nextBelow(6))]
            options.ngramSize = 1 + Int(generator.nextBelow(4))
            options.removeStopwords = generator.nextBelow(3) != 0
            options.mode = ConsensusMode.allCases[Int(generator.nextBelow(3))]
            options.factualMaxWords = [0, 12, 40][Int(generator.nextBelow(3))]
            expectSame(answers, options: options, label: "seed \(seed) round \(round) n=\(count) w=\(words) \(options)")
        }
    }

    @Test(arguments: 0..<8)
    func generatedFactualSets(seed: Int) {
        var generator = ConsensusAnswerGenerator(seed: UInt64(seed) &+ 1000)
        for round in 0..<10 {
            let count = 1 + Int(generator.nextBelow(12))
            let answers = generator.factualSet(count: count)
            var options = ConsensusOptions.defaults
            options.mode = ConsensusMode.allCases[Int(generator.nextBelow(3))]
            expectSame(answers, options: options, label: "seed \(seed) round \(round) n=\(count) \(options.mode)")
        }
    }

    @Test(arguments: [ConsensusAggregator.IntersectionMethod.bitset, .sortedMerge])
    func bothIntersectionMethods(method: ConsensusAggregator.IntersectionMethod) {
        var generator = ConsensusAnswerGenerator(seed: 99, unicode: true)
        for round in 0..<12 {
            let count = 1 + Int(generator.nextBelow(30))
            let words = [2, 10, 40, 200][Int(generator.nextBelow(4))]
            var options = ConsensusOptions.defaults
            options.mode = .text
            options.ngramSize = 1 + Int(generator.nextBelow(3))
            expectSame(
                generator.answerSet(count: count, words: words), options: options,
                label: "\(method) round \(round) n=\(count) w=\(words)", intersection: method)
        }
    }

    /// Texts made of awkward scalars: multi-scalar lowercase mappings (İ), ligatures,
    /// combining marks, decomposed letters, letter numbers, circled letters, emoji and
    /// joiners, fullwidth and non-Latin punctuation and digits.
    @Test func unicodeScalarSoup() {
        let pieces = [
            "a", "B", "é", "E\u{301}", "ß", "İ", "ﬁ", "\u{301}", "Ⅻ", "Ⓐ", "😀", "\u{200D}", "_", "-", " ",
            "．", "١٢", "Σ", "ǅ", "\u{345}", "ﾃｽﾄ", "中文", "٫", "\u{FEFF}", "\t", "42", "Ω", "ǰ",
        ]
        var generator = ConsensusAnswerGenerator(seed: 11)
        for round in 0..<40 {
            let count = 1 + Int(generator.nextBelow(6))
            let answers = (0..<count).map { index in
                let length = Int(generator.nextBelow(30))
                let text = (0..<length).map { _ in pieces[Int(generator.nextBelow(UInt64(pieces.count)))] }.joined()
                return ExpertAnswer(expert: "e\(index)", text: text)
            }
            var options = ConsensusOptions.defaults
            options.mode = round % 3 == 0 ? .auto : .text
            options.ngramSize = 1 + round % 3
            expectSame(answers, options: options, label: "soup round \(round): \(answers.map(\.text))")
        }
    }

    @Test func goldenContradictionSetsWithoutTheClaimCheck() {
        var off = ConsensusOptions.defaults
        off.claimMaxWords = 0
        for golden in ConsensusContradictionTests.goldenCases {
            let answers = ConsensusContradictionTests.answers(golden.answers)
            expectSame(answers, options: off, label: golden.name)
            var text = off
            text.mode = .text
            expectSame(answers, options: text, label: golden.name + " (text)")
        }
    }

    @Test func benchSizedSets() {
        for count in [2, 5, 10, 20, 50] {
            var generator = ConsensusAnswerGenerator(seed: 42 &+ UInt64(count))
            expectSame(generator.answerSet(count: count, words: 200), options: .defaults, label: "bench \(count)")
        }
    }

    @Test func benchSetsHavePositionsAndDissent() throws {
        var generator = ConsensusAnswerGenerator(seed: 42 &+ 50)
        let answers = generator.answerSet(count: 50, words: 200)
        let report = try ConsensusAggregator().aggregate(answers)
        // Paraphrases of the main script agree; off-topic answers must not join them.
        #expect(report.mode == .text)
        #expect(!report.dissent.isEmpty)
        #expect(report.dissent.count < 25)
        #expect(report.agreement > 0.3 && report.agreement < 1)
    }
}
