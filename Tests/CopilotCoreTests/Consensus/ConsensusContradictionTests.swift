@testable import CopilotCore
import Foundation
import Testing

/// Answers that share most of their words but name different central values must not share
/// a position (issue 11, item 5); the golden cases are in
/// `Tests/Fixtures/consensus_contradictions.json`.
@Suite struct ConsensusContradictionTests {
    /// One golden case: the answers, the question (or none), the expected positions and the
    /// answers any of which may be the consensus.
    struct GoldenCase: Decodable, CustomTestStringConvertible {
        var name: String
        var question: String?
        var answers: [String]
        var groups: [Int]
        var winners: [Int]
        var testDescription: String { name }
    }

    static let goldenCases: [GoldenCase] = {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fixtures/consensus_contradictions.json")
        do {
            return try JSONDecoder().decode([GoldenCase].self, from: Data(contentsOf: file))
        } catch {
            Issue.record("cannot read \(file.path): \(error)")
            return []
        }
    }()

    static func answers(_ texts: [String]) -> [ExpertAnswer] {
        texts.enumerated().map { ExpertAnswer(expert: "e\($0.offset)", text: $0.element) }
    }

    @Test func goldenSetIsLargeEnough() {
        #expect(Self.goldenCases.count >= 25)
    }

    @Test(arguments: goldenCases)
    func goldenCase(_ golden: GoldenCase) throws {
        let report = try ConsensusAggregator().aggregate(Self.answers(golden.answers), question: golden.question)
        #expect(report.group == golden.groups, "\(golden.name): claims \(report.claims)")
        #expect(golden.winners.contains(report.consensusIndex), "\(golden.name): consensus \(report.consensusIndex)")
        for pair in report.contradictions {
            #expect(golden.groups[pair.first] != golden.groups[pair.second], "\(golden.name): \(pair)")
        }
    }

    @Test func sydneyDoesNotJoinTheCanberraPosition() throws {
        let answers = Self.answers([
            "The capital of Australia is Canberra.", "The capital of Australia is Canberra.",
            "The capital of Australia is Canberra.", "The capital of Australia is Sydney.",
        ])
        let report = try ConsensusAggregator().aggregate(answers)
        #expect(report.group == [0, 0, 0, 1])
        #expect(report.dissent == [3])
        #expect(report.consensusIndex == 0)
        #expect(report.contradictions.map(\.second) == [3, 3, 3])
        #expect(report.contradictions.first?.reason == "canberra vs sydney")
        #expect(report.similarity[3] == 0)  // no support from a contradicting answer
        var off = ConsensusOptions.defaults
        off.claimMaxWords = 0
        #expect(try ConsensusAggregator(options: off).aggregate(answers).group == [0, 0, 0, 0])
    }

    @Test(arguments: 0..<8)
    func contradictingAnswersNeverShareAPosition(seed: Int) throws {
        var generator = ConsensusAnswerGenerator(seed: UInt64(seed))
        let answers = generator.claimSet(count: 3 + 3 * seed)
        let report = try ConsensusAggregator().aggregate(answers)
        #expect(report.included == Array(answers.indices))
        for pair in report.contradictions {
            #expect(report.group[pair.first] != report.group[pair.second], "\(answers[pair.first].text) / \(answers[pair.second].text)")
            #expect(report.similarity[pair.first * answers.count + pair.second] == 0)
        }
    }

    @Test func longAnswersAreNotRead() throws {
        let filler = Array(repeating: "and so on", count: 14).joined(separator: " ")
        let answers = Self.answers(["The capital is Canberra, \(filler).", "The capital is Sydney, \(filler)."])
        let report = try ConsensusAggregator().aggregate(answers)
        #expect(report.contradictions.isEmpty)
        #expect(report.group == [0, 0])
    }

    static func claims(_ text: String, question: String? = nil) -> [String] {
        ClaimExtractor.claims(of: [text], question: question)[0].labels
    }

    @Test(arguments: [
        ("July 20, 1969", "1969-07-20"), ("20 July 1969", "1969-07-20"), ("1969-07-20", "1969-07-20"),
        ("the 20th of July, 1969", "1969-07-20"), ("July 1969", "1969-07"), ("in 1969", "1969"),
        ("on July 20", "--07-20"), ("1.5 km", "1500 m"), ("1500 m", "1500 m"), ("1,500 metres", "1500 m"),
        ("5 kg", "5 kg"), ("5000 g", "5 kg"), ("212 °F", "100 °C"), ("100 degrees Celsius", "100 °C"),
        ("45%", "45%"), ("45 percent", "45%"), ("45 per cent", "45%"), ("$15 million", "15000000 USD"),
        ("two moons", "2"), ("twenty-five", "25"), ("two kilometres", "2000 m"), ("a dozen", "12"),
    ])
    func values(text: String, expected: String) {
        #expect(Self.claims(text) == [expected])
    }

    @Test(arguments: ["one of them", "mp3", "the 1960s", "an A380", "no idea", "the 20th century"])
    func notAValue(text: String) {
        #expect(Self.claims(text).isEmpty)
    }

    @Test(arguments: [
        ("Canberra, not Sydney.", ["canberra", "not sydney"]),
        ("Sydney is not the capital; Canberra is.", ["canberra", "not sydney"]),
        ("Sydney isn't the capital.", ["not sydney"]),
        ("It is Canberra rather than Sydney.", ["canberra", "not sydney"]),
        ("Canberra was chosen instead of Sydney.", ["canberra", "not sydney"]),
        ("He never met Buzz Aldrin.", ["not buzz aldrin"]),
        ("It is no longer Almaty.", ["not almaty"]),
        ("Almaty is no longer the capital.", ["not almaty"]),
        ("Sydney is wrong.", ["not sydney"]),
        ("No doubt it is Canberra.", ["canberra"]),
        ("The capital is not 1,000 km away.", ["not 1000000 m"]),
    ])
    func negation(text: String, expected: [String]) {
        #expect(Self.claims(text) == expected)
    }

    @Test func namesAndTheQuestion() {
        // Sentence-initial words are names unless the panel writes them in lower case.
        let panel = ClaimExtractor.claims(of: ["Sunlight is scattered.", "Sydney is big.", "The sunlight is blue."], question: nil)
        #expect(panel.map(\.labels) == [[], ["sydney"], []])
        // Names the panel writes only at sentence starts are weak: two of them alone do not
        // contradict (common nouns), one against a name written mid-sentence does.
        let nouns = ClaimExtractor.claims(of: ["Photosynthesis makes sugar.", "Chlorophyll makes sugar.", "It is Sydney."], question: nil)
        #expect(nouns.map { $0.asserted.map(\.isWeakName) } == [[true], [true], [false]])
        #expect(ClaimExtractor.relations(nouns).conflicts.map { [$0.first, $0.second] } == [[0, 2], [1, 2]])
        #expect(Self.claims("It absorbs CO2.").isEmpty)
        #expect(Self.claims("The capital of Australia is Canberra.", question: "What is the capital of Australia?") == ["canberra"])
        #expect(Self.claims("Apollo 11 landed in 1969.", question: "When did Apollo 11 land?") == ["1969"])
        #expect(Self.claims("It was NASA, with Neil Armstrong.") == ["nasa", "neil armstrong"])
        #expect(Self.claims("Leonardo da Vinci.") == ["leonardo da vinci"])
    }

    @Test func matching() {
        let armstrong = Claim(kind: .entity, key: "armstrong", value: 0)
        #expect(armstrong.matches(Claim(kind: .entity, key: "neil armstrong", value: 0)))
        #expect(!armstrong.matches(Claim(kind: .entity, key: "buzz aldrin", value: 0)))
        let year = Claim(kind: .date, key: "", value: 1969_00_00)
        #expect(year.matches(Claim(kind: .date, key: "", value: 1969_07_20)))
        #expect(!year.matches(Claim(kind: .date, key: "", value: 1968_07_20)))
        #expect(!Claim(kind: .date, key: "", value: 1969_07_21).matches(Claim(kind: .date, key: "", value: 1969_07_20)))
        let miles = Claim(kind: .number, key: "m", value: 5 * 1609.344)
        #expect(miles.matches(Claim(kind: .number, key: "m", value: 8000)))  // within 1%
        #expect(!miles.matches(Claim(kind: .number, key: "kg", value: 8000)))
        #expect(!Claim(kind: .number, key: "", value: 5).matches(Claim(kind: .number, key: "", value: 5.01)))
    }

    @Test func unitValuesOnlyWhenUnitsHideSomething() {
        #expect(FactualExtractor.unitValues(["100", "100 °C"], values: ["100", "100"]) == ["100", "100"])
        #expect(FactualExtractor.unitValues(["1.5 km", "1500 m", "3"], values: ["1.5", "1500", "3"]) == ["1500 m", "1500 m", "3"])
        #expect(FactualExtractor.unitValues(["5 kg", "5 g"], values: ["5", "5"]) == ["5 kg", "0.005 kg"])
    }
}
