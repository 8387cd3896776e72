import CopilotCore
import Testing

@Suite struct WordErrorRateTests {
    @Test func normalisesCaseAndPunctuation() {
        #expect(WordErrorRate.words("Hello, World! It's 'fine'.") == ["hello", "world", "it's", "fine"])
        #expect(WordErrorRate.rate(reference: "Hello world.", hypothesis: " hello, WORLD") == 0)
    }

    @Test func countsEachKindOfEdit() {
        #expect(WordErrorRate.rate(reference: "a b c d", hypothesis: "a x c d") == 0.25)  // substitution
        #expect(WordErrorRate.rate(reference: "a b c d", hypothesis: "a c d") == 0.25)  // deletion
        #expect(WordErrorRate.rate(reference: "a b c d", hypothesis: "a b b c d") == 0.25)  // insertion
        #expect(WordErrorRate.rate(reference: "a b", hypothesis: "") == 1)
        #expect(WordErrorRate.rate(reference: "", hypothesis: "") == 0)
        #expect(WordErrorRate.rate(reference: "", hypothesis: "x y") == 2)
    }
}
