import CopilotCore
import CopilotReference
import Foundation
import Testing

/// Answer sets whose right consensus is known; each is checked on the optimized aggregator and
/// on the reference.
@Suite struct ConsensusAggregatorTests {
    static let sky = [
        ExpertAnswer(expert: "alice", text: "The sky looks blue because sunlight is scattered by the molecules in the atmosphere, and blue light, with its shorter wavelength, is scattered much more than red light. This is called Rayleigh scattering."),
        ExpertAnswer(expert: "bob", text: "Rayleigh scattering: molecules in the air scatter short-wavelength blue light far more strongly than the longer red wavelengths, so scattered blue sunlight reaches our eyes from every direction of the sky."),
        ExpertAnswer(expert: "carol", text: "Because of Rayleigh scattering. Sunlight hits the gas molecules in the atmosphere and the shorter blue wavelengths are scattered more than red light, so the sky appears blue."),
        ExpertAnswer(expert: "dave", text: "The sky is blue because it reflects the colour of the oceans, which cover most of the planet's surface."),
        ExpertAnswer(expert: "erin", text: "I recommend a simple pasta recipe with tomatoes, garlic and fresh basil for dinner tonight."),
    ]

    static let aggregators: [any ConsensusAggregating] = [ConsensusAggregator(), ReferenceConsensusAggregator()]

    func reports(_ answers: [ExpertAnswer], options: ConsensusOptions = .defaults) throws -> [ConsensusReport] {
        [try ConsensusAggregator(options: options).aggregate(answers),
         try ReferenceConsensusAggregator(options: options).aggregate(answers)]
    }

    @Test func majorityAmongParaphrasesWithOffTopicInDissent() throws {
        for report in try reports(Self.sky) {
            #expect(report.mode == .text)
            #expect(report.group == [0, 0, 0, 1, 2])
            #expect(report.dissent == [3, 4])
            #expect(["alice", "bob", "carol"].contains(Self.sky[report.consensusIndex].expert))
            #expect(report.consensusIndex == 0)
            #expect(abs(report.agreement - 0.6) < 1e-9)
            #expect(report.support[4] == 0.2)  // off-topic: only its own weight agrees
        }
    }

    @Test func weightsOverturnAHeadCount() throws {
        var answers = Self.sky
        answers[3].weight = 4  // the ocean-reflection expert outweighs three paraphrases
        for report in try reports(answers) {
            #expect(report.consensusIndex == 3)
            #expect(report.dissent == [0, 1, 2, 4])
        }
        var confident = Self.sky
        for i in 0..<3 { confident[i].confidence = 0.3 }  // 0.9 in all against one sure expert
        for report in try reports(confident) {
            #expect(report.consensusIndex == 3)
        }
    }

    @Test func numericAnswerWrittenSeveralWays() throws {
        let answers = [
            ExpertAnswer(expert: "a", text: "forty-two"),
            ExpertAnswer(expert: "b", text: "42"),
            ExpertAnswer(expert: "c", text: "42.0"),
            ExpertAnswer(expert: "d", text: "The answer is 42."),
            ExpertAnswer(expert: "e", text: "43", weight: 2.5),
            ExpertAnswer(expert: "f", text: "I think it is 41", confidence: 0.5),
        ]
        for report in try reports(answers) {
            #expect(report.mode == .factual)
            #expect(report.answer == "42")
            #expect(report.consensusIndex == 0)  // ties in group: same support and mass, earliest
            #expect(report.dissent == [4, 5])
            #expect(report.group == [0, 0, 0, 0, 1, 2])
            #expect(abs(report.agreement - 4 / 7) < 1e-9)  // masses 0.4*4 of 0.4*4 + 1 + 0.2
        }
    }

    @Test func yesNoVote() throws {
        let answers = [
            ExpertAnswer(expert: "a", text: "No"),
            ExpertAnswer(expert: "b", text: "Yes, definitely"),
            ExpertAnswer(expert: "c", text: "yes"),
            ExpertAnswer(expert: "d", text: "nope", weight: 1, confidence: 0.5),
        ]
        for report in try reports(answers) {
            #expect(report.answer == "yes")
            #expect(report.consensusIndex == 1)
            #expect(report.dissent == [0, 3])
        }
        // Equal masses: the position that appeared first wins.
        let tie = [ExpertAnswer(expert: "a", text: "no"), ExpertAnswer(expert: "b", text: "yes")]
        for report in try reports(tie) {
            #expect(report.answer == "no")
            #expect(report.consensusIndex == 0)
            #expect(abs(report.agreement - 0.5) < 1e-12)
        }
    }

    @Test func choiceLetters() throws {
        let answers = [
            ExpertAnswer(expert: "a", text: "(C)"),
            ExpertAnswer(expert: "b", text: "B)"),
            ExpertAnswer(expert: "c", text: "answer: b"),
            ExpertAnswer(expert: "d", text: "The answer is B", confidence: 0.2),
            ExpertAnswer(expert: "e", text: "Honestly no idea"),
        ]
        for report in try reports(answers) {
            #expect(report.answer == "B")
            #expect(report.consensusIndex == 1)  // b and c tie on support and mass: earliest
            #expect(report.dissent == [0, 4])
        }
    }

    @Test func singleAnswerHasFullAgreement() throws {
        for report in try reports([ExpertAnswer(expert: "solo", text: Self.sky[0].text, weight: 0.5, confidence: 0.3)]) {
            #expect(report.agreement == 1)
            #expect(report.support == [1])
            #expect(report.dissent.isEmpty)
        }
    }

    @Test func emptyTextsAreExcluded() throws {
        var answers = Self.sky
        answers.insert(ExpertAnswer(expert: "blank", text: "  ... "), at: 1)
        for report in try reports(answers) {
            #expect(report.excluded == [1])
            #expect(report.included == [0, 2, 3, 4, 5])
            #expect(report.dissent == [4, 5])
        }
        for aggregator in Self.aggregators {
            #expect(throws: ConsensusError.noUsableAnswers) {
                try aggregator.aggregate([ExpertAnswer(expert: "x", text: ""), ExpertAnswer(expert: "y", text: "!?")])
            }
            #expect(throws: ConsensusError.zeroTotalWeight) {
                try aggregator.aggregate([ExpertAnswer(expert: "x", text: "a", weight: 0), ExpertAnswer(expert: "y", text: "b", confidence: 0)])
            }
        }
    }

    @Test func zeroWeightAnswerTakesPartButDoesNotVote() throws {
        var answers = Self.sky
        answers[4].weight = 0
        for report in try reports(answers) {
            #expect(report.support[4] == 0)
            #expect(abs(report.agreement - 0.75) < 1e-9)
        }
    }

    @Test func unicodeNormalisation() throws {
        let composed = "Le café est très crème «au lait»!"
        let decomposed = "LE CAFE\u{301} EST TRE\u{300}S CRE\u{300}ME — au lait"
        for report in try reports([ExpertAnswer(expert: "a", text: composed), ExpertAnswer(expert: "b", text: decomposed)]) {
            #expect(report.mode == .text)
            #expect(report.similarity[1] == 1)
        }
    }

    @Test func sameInputSameReport() throws {
        var generator = ConsensusAnswerGenerator(seed: 7)
        let answers = generator.answerSet(count: 12, words: 80)
        let aggregator = ConsensusAggregator()
        #expect(try aggregator.aggregate(answers) == aggregator.aggregate(answers))
    }

    @Test func thresholdExtremes() throws {
        var all = ConsensusOptions.defaults
        all.threshold = 0
        for report in try reports(Self.sky, options: all) {
            #expect(Set(report.group) == [0])
            #expect(report.dissent.isEmpty)
        }
        var none = ConsensusOptions.defaults
        none.threshold = 1
        for report in try reports(Self.sky, options: none) {
            #expect(report.group == [0, 1, 2, 3, 4])
            #expect(report.consensusIndex == 0)  // equal masses: the earliest position wins
        }
    }
}
