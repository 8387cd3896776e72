@testable import CopilotGateway
import CopilotCore
import Foundation
import NIOCore
import Testing

/// The scanner against Foundation's JSONSerialization on the same bodies: both must call the
/// same bodies valid objects, and agree on the fields the gateway reads.
@Suite struct ChatRequestScannerTests {
    static func foundationVerdict(_ text: String) -> [String: Any]? {
        try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
    }

    static func scannerVerdict(_ text: String) -> ChatRequestScanner.Fields? {
        try? ChatRequestScanner.scan(ByteBuffer(string: text))
    }

    /// A random JSON value of bounded depth, as text.
    static func randomValue(_ g: inout SplitMix64, depth: Int) -> String {
        let pick = depth > 3 ? g.next() % 5 : g.next() % 7
        switch pick {
        case 0: return ["true", "false", "null"][Int(g.next() % 3)]
        case 1: return ["0", "-1", "3.25", "1e10", "-0.5E-3", "12345678901234"][Int(g.next() % 6)]
        case 2, 3, 4:
            let pieces = ["a", "b c", "\\n", "\\\"", "\\u00e9", "\\ud83d\\ude00", "é", "\\\\", "/"]
            return "\"" + (0..<Int(g.next() % 4)).map { _ in pieces[Int(g.next() % UInt64(pieces.count))] }.joined() + "\""
        case 5:
            return "[" + (0..<Int(g.next() % 4)).map { _ in randomValue(&g, depth: depth + 1) }.joined(separator: ", ") + "]"
        default:
            let keys = ["model", "stream", "messages", "x", "role"]
            return "{" + (0..<Int(g.next() % 4)).map { _ in "\"\(keys[Int(g.next() % 5)])\": " + randomValue(&g, depth: depth + 1) }.joined(separator: ",") + "}"
        }
    }

    /// Bytes that make valid JSON invalid (or keep it valid), all ASCII.
    static func mutate(_ text: String, _ g: inout SplitMix64) -> String {
        var chars = Array(text)
        guard !chars.isEmpty else { return text }
        let at = Int(g.next() % UInt64(chars.count))
        switch g.next() % 4 {
        case 0: chars.remove(at: at)
        case 1: chars.insert([",", "}", "]", "\"", ":", "x", " ", "\\", "0", "-"][Int(g.next() % 10)], at: at)
        case 2: chars = Array(chars[..<at])
        default: chars[at] = ["{", "[", "1", "e", ".", "\t"][Int(g.next() % 6)]
        }
        return String(chars)
    }

    @Test func agreesWithJSONSerializationOnGeneratedBodies() {
        var g = SplitMix64(seed: 2026)
        var checked = 0, invalid = 0
        for _ in 0..<3000 {
            let model = ["\"m\"", "\"llama3.2\"", "\"caf\\u00e9\"", "3", "null"][Int(g.next() % 5)]
            let stream = ["", ", \"stream\": true", ", \"stream\": false", ", \"stream\": null", ", \"stream\": 1"][Int(g.next() % 5)]
            let messages = "[{\"role\": \"user\", \"content\": \(Self.randomValue(&g, depth: 1))}]"
            let extra = g.next() % 2 == 0 ? "" : ", \"x\": " + Self.randomValue(&g, depth: 1)
            var text = "{\"model\": \(model)\(stream), \"messages\": \(messages)\(extra)}"
            if g.next() % 2 == 0 { text = Self.mutate(text, &g) }
            let foundation = Self.foundationVerdict(text)
            let scanner = Self.scannerVerdict(text)
            // JSONSerialization accepts trailing commas; RFC 8259 (and the scanner) does not.
            let squeezed = text.filter { !$0.isWhitespace }
            if foundation != nil, squeezed.contains(",}") || squeezed.contains(",]") {
                #expect(scanner == nil, "\(text)")
                continue
            }
            #expect((foundation == nil) == (scanner == nil), "verdicts differ on \(text)")
            guard let foundation, let scanner else {
                invalid += 1
                continue
            }
            checked += 1
            #expect(scanner.model == foundation["model"] as? String, "\(text)")
            #expect(scanner.messageCount == (foundation["messages"] as? [Any]).map(\.count) ?? (foundation["messages"] == nil ? nil : -1), "\(text)")
            let fStream = foundation["stream"]
            if let b = fStream as? Bool, !(fStream is NSNull), "\(fStream!)" != "1" {
                #expect(scanner.stream == b || scanner.streamInvalid, "\(text)")
            }
        }
        #expect(checked > 500 && invalid > 500, "both kinds were generated: \(checked) valid, \(invalid) invalid")
    }

    @Test(arguments: [
        "", "{", "{}x", "[]", "\"s\"", "{\"a\":1,}", "{\"a\":01}", "{\"a\":1.}", "{\"a\":\"\u{01}\"}", "{\"a\":\"\\x\"}",
        "{\"a\":\"\\u12\"}", "{\"a\":\"\\ud83d\"}", "{\"a\":\"\\ude00\"}", "{\"a\":1e999}", "{\"a\" 1}", "{a:1}", "{\"a\":tru}", String(repeating: "[", count: 300),
    ])
    func rejectsInvalid(text: String) {
        #expect(Self.scannerVerdict(text) == nil)
    }

    @Test func aliasRewriteTouchesOnlyTheModel() throws {
        let text = #"{"messages":[{"role":"user","content":"keep \"model\": me"}], "model" : "chat", "stream":false}"#
        let request = try ChatRequest(body: ByteBuffer(string: text))
        #expect(request.model == "chat" && !request.stream)
        let rewritten = String(buffer: request.body(for: "llama\"3"))
        #expect(rewritten == #"{"messages":[{"role":"user","content":"keep \"model\": me"}], "model" : "llama\"3", "stream":false}"#)
        #expect(request.lastUserText == #"keep "model": me"#)
        #expect(String(buffer: request.body(for: "chat")) == text)
    }

    @Test func decodesEscapesInTheModelName() throws {
        let request = try ChatRequest(body: ByteBuffer(string: #"{"model":"caf\u00e9 \ud83d\ude00\n","messages":[1]}"#))
        #expect(request.model == "café 😀\n")
    }
}
