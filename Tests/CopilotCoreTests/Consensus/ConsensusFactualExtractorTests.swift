@testable import CopilotCore
import Testing

@Suite struct ConsensusFactualExtractorTests {
    @Test(arguments: [
        ("42", "42"), ("forty-two", "42"), ("Forty two", "42"), ("42.0", "42"), ("The answer is 42.", "42"),
        ("**42**", "42"), ("42 (forty-two)", "42"), ("1,000 meters", "1000"), ("one thousand", "1000"),
        ("one hundred and five", "105"), ("-3.5 degrees", "-3.5"), ("It's 3.50", "3.5"), ("zero", "0"),
    ])
    func numbers(text: String, expected: String) {
        #expect(FactualExtractor.extract(text).number == expected)
    }

    @Test(arguments: ["between 40 and 45", "no idea", "version 2 or 3", "mp3"])
    func noSingleNumber(text: String) {
        #expect(FactualExtractor.extract(text).number == nil)
    }

    @Test(arguments: [
        ("Yes", "yes"), ("Yes, definitely", "yes"), ("yep.", "yes"), ("That is correct", "yes"),
        ("no", "no"), ("Nope", "no"), ("No, not at all", "no"), ("That is not correct", "no"),
    ])
    func yesNo(text: String, expected: String) {
        #expect(FactualExtractor.extract(text).yesNo == expected)
    }

    @Test func yesAndNoTogetherIsNoAnswer() {
        #expect(FactualExtractor.extract("yes and no").yesNo == nil)
        #expect(FactualExtractor.extract("maybe").yesNo == nil)
    }

    @Test(arguments: [
        ("(B)", "B"), ("B)", "B"), ("answer: b", "B"), ("The answer is C", "C"), ("Option a", "A"),
        ("d", "D"), ("b. because of the second law", "B"), ("I pick (c) here", "C"),
    ])
    func choices(text: String, expected: String) {
        #expect(FactualExtractor.extract(text).choice == expected)
    }

    @Test func ambiguousOrAbsentChoice() {
        #expect(FactualExtractor.extract("(a) or (b)").choice == nil)
        #expect(FactualExtractor.extract("Because of Rayleigh scattering").choice == nil)
        #expect(FactualExtractor.extract("zz").choice == nil)
    }

    @Test func numberFormatting() {
        #expect(FactualExtractor.format(42.0) == "42")
        #expect(FactualExtractor.format(-0.0) == "0")
        #expect(FactualExtractor.format(2.5) == "2.5")
    }
}
