@testable import CopilotCore
import Foundation
import Testing

@Suite struct ConsensusInputTests {
    func parse(_ text: String) throws -> [ExpertAnswer] {
        try ConsensusInput.parse(Array(text.utf8), source: "in.jsonl")
    }

    func failure(_ text: String) -> ConsensusError? {
        failure(bytes: Array(text.utf8))
    }

    func failure(bytes: [UInt8]) -> ConsensusError? {
        do {
            _ = try ConsensusInput.parse(bytes, source: "in.jsonl")
            return nil
        } catch let error as ConsensusError {
            return error
        } catch {
            return nil
        }
    }

    @Test func jsonLinesWithDefaults() throws {
        let answers = try parse(
            """
            {"expert": "a", "text": "one", "weight": 2, "confidence": 0.5}

            {"text": "two", "weight": null}
            """)
        #expect(answers == [
            ExpertAnswer(expert: "a", text: "one", weight: 2, confidence: 0.5, line: 1),
            ExpertAnswer(expert: "#2", text: "two", weight: 1, confidence: 1, line: 3),
        ])
    }

    @Test func jsonArrayWithBOMAndEscapes() throws {
        let text = "\u{FEFF}[\n {\"expert\": \"b\\u00e9\", \"text\": \"x\\n\\ud83d\\ude00\", \"extra\": [1, {\"k\": true}]},\n {\"expert\": \"c\", \"text\": \"y\"}\n]"
        let answers = try parse(text)
        #expect(answers.map(\.expert) == ["bé", "c"])
        #expect(answers[0].text == "x\n😀")
        #expect(answers.map(\.line) == [2, 3])
    }

    @Test func emptyInputsAreErrors() {
        #expect(failure("") == .noAnswers(source: "in.jsonl"))
        #expect(failure("  \n\n ") == .noAnswers(source: "in.jsonl"))
        #expect(failure("[ ]") == .noAnswers(source: "in.jsonl"))
    }

    @Test func malformedJSONNamesTheLine() {
        guard case .malformedJSON(_, let line, _)? = failure("{\"text\": \"a\"}\n{\"text\": \"b\"}\n{\"text\": \"c\",}\n") else {
            Issue.record("expected malformedJSON")
            return
        }
        #expect(line == 3)
        guard case .malformedJSON(_, let arrayLine, _)? = failure("[\n{\"text\": \"a\"},\n\n{\"text\": \"b\" \"c\"}\n]") else {
            Issue.record("expected malformedJSON")
            return
        }
        #expect(arrayLine == 4)
        guard case .malformedJSON(_, 2, _)? = failure("{\"text\": \"a\"}\n{\"text\": \"b\"} trailing\n") else {
            Issue.record("trailing text after an object must name line 2")
            return
        }
        guard case .malformedJSON(_, 1, _)? = failure("{\"text\": \"a\nb\"}") else {
            Issue.record("raw newline in a string")
            return
        }
        guard case .malformedJSON(_, 1, _)? = failure("[1, 2]") else {
            Issue.record("array elements must be objects")
            return
        }
        guard case .malformedJSON? = failure("{\"text\": \"a\", \"text\": \"b\"}") else {
            Issue.record("duplicate keys")
            return
        }
    }

    @Test func deepNestingIsRefusedNotCrashed() {
        let deep = "{\"text\": \"a\", \"x\": " + String(repeating: "[", count: 100_000) + "}"
        guard case .malformedJSON? = failure(deep) else {
            Issue.record("expected malformedJSON")
            return
        }
    }

    @Test func invalidUTF8NamesTheLine() {
        var bytes = Array("{\"text\": \"a\"}\n{\"text\": \"".utf8)
        bytes += [0x63, 0x61, 0x66, 0xE9, 0x22, 0x7D, 0x0A]  // "caf\xE9"} in Latin-1
        #expect(failure(bytes: bytes) == .notUTF8(source: "in.jsonl", line: 2))
        #expect(failure(bytes: [0xED, 0xA0, 0x80]) == .notUTF8(source: "in.jsonl", line: 1))  // encoded surrogate
        #expect(failure(bytes: [0xC0, 0xAF]) == .notUTF8(source: "in.jsonl", line: 1))  // overlong
    }

    @Test func weightAndConfidenceAreChecked() {
        guard case .invalidField(_, 2, "bob", "weight", let reason)? = failure("{\"text\": \"a\"}\n{\"expert\": \"bob\", \"text\": \"b\", \"weight\": -1}") else {
            Issue.record("negative weight must name bob")
            return
        }
        #expect(reason.contains("-1"))
        guard case .invalidField(_, 1, nil, "weight", _)? = failure("{\"text\": \"a\", \"weight\": \"heavy\"}") else {
            Issue.record("string weight")
            return
        }
        guard case .invalidField(_, 1, "c", "weight", _)? = failure("{\"expert\": \"c\", \"text\": \"a\", \"weight\": 1e400}") else {
            Issue.record("infinite weight")
            return
        }
        guard case .invalidField(_, 1, _, "confidence", _)? = failure("{\"text\": \"a\", \"confidence\": 1.5}") else {
            Issue.record("confidence above 1")
            return
        }
        guard case .invalidField(_, 1, "d", "text", _)? = failure("{\"expert\": \"d\"}") else {
            Issue.record("missing text")
            return
        }
        guard case .invalidField(_, 1, _, "expert", _)? = failure("{\"expert\": 3, \"text\": \"a\"}") else {
            Issue.record("numeric expert")
            return
        }
    }

    @Test func errorMessagesNameSourceLineAndFix() {
        let message = ConsensusError.invalidField(
            source: "x.jsonl", line: 4, expert: "bob", field: "weight", reason: "must be a finite number >= 0, got -2"
        ).errorDescription ?? ""
        #expect(message.contains("x.jsonl line 4") && message.contains("bob") && message.contains("weight"))
        #expect((ConsensusError.notUTF8(source: "x.jsonl", line: 9).errorDescription ?? "").contains("line 9"))
    }
}

/// Random and mutated inputs never crash the reader: each parses or throws a ConsensusError.
@Suite struct ConsensusInputRobustnessTests {
    @Test func randomAndMutatedBytes() {
        var generator = ConsensusAnswerGenerator(seed: 5)
        let valid = Array("[{\"expert\": \"a\", \"text\": \"caf\\u00e9 42\", \"weight\": 2.5e0, \"confidence\": 0.5},\n{\"text\": \"x\"}]\n".utf8)
        let alphabet = Array("{}[]\":,\\ \n\tu0123456789.eE-+truefalsnl".utf8) + [0x80, 0xC3, 0xA9, 0xFF, 0x00]
        for round in 0..<3000 {
            var bytes: [UInt8]
            if round % 2 == 0 {
                bytes = valid
                for _ in 0..<(1 + Int(generator.nextBelow(4))) {
                    let at = Int(generator.nextBelow(UInt64(bytes.count)))
                    switch generator.nextBelow(3) {
                    case 0: bytes[at] = alphabet[Int(generator.nextBelow(UInt64(alphabet.count)))]
                    case 1: bytes.remove(at: at)
                    default: bytes.insert(alphabet[Int(generator.nextBelow(UInt64(alphabet.count)))], at: at)
                    }
                }
            } else {
                bytes = (0..<Int(generator.nextBelow(40))).map { _ in alphabet[Int(generator.nextBelow(UInt64(alphabet.count)))] }
            }
            do {
                let answers = try ConsensusInput.parse(bytes, source: "fuzz")
                #expect(!answers.isEmpty)
                for answer in answers {
                    #expect(answer.weight.isFinite && answer.weight >= 0)
                    #expect(answer.confidence >= 0 && answer.confidence <= 1)
                }
            } catch is ConsensusError {
            } catch {
                Issue.record("unexpected error type \(error)")
            }
        }
    }
}
