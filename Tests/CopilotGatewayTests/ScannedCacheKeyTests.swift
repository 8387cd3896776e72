@testable import CopilotGateway
import CopilotCore
import NIOCore
import Testing

/// The gateway's scanned cache key against CopilotCore's `CacheKey` (a full JSON parse) on
/// the same bodies: they must agree on every body, in key and in canonical JSON.
@Suite struct ScannedCacheKeyTests {
    static func reference(_ text: String) -> String? { try? CacheKey.key(request: Array(text.utf8)) }

    static func agree(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let body = ByteBuffer(string: text)
        // Only bodies the gateway accepts reach the key.
        guard (try? ChatRequestScanner.scan(body)) != nil else { return }
        #expect(ScannedCacheKey.key(body) == reference(text), "\(text)", sourceLocation: sourceLocation)
        if let canonical = ScannedCacheKey.canonicalJSON(body) {
            #expect(canonical == (try? CacheKey.canonicalJSON(request: Array(text.utf8))), "\(text)", sourceLocation: sourceLocation)
        }
    }

    @Test func numberSpellingsKeyOrderAndWhitespaceAgree() {
        let spellings = [
            #"{"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":0}"#,
            #"{"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":0.0}"#,
            #"{"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":0e0}"#,
            #"{"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":-0}"#,
            #"{ "temperature" : 0E+2 ,"messages" : [ { "content" : "hi" , "role" : "user" } ] , "model" : "m" , "stream" : true }"#,
            "{\n\t\"messages\": [{\"content\": \"h\\u0069\", \"role\": \"user\"}],\r\n \"model\": \"\\u006d\", \"user\": \"u1\", \"temperature\": 0.000}",
        ]
        let keys = Set(spellings.map { ScannedCacheKey.key(ByteBuffer(string: $0)) })
        #expect(keys.count == 1 && keys.first! != nil, "one key for every spelling")
        for text in spellings { Self.agree(text) }
    }

    @Test func edgeCasesAgree() {
        for text in [
            #"{"model":"m","messages":[]}"#,  // refused by both
            #"{"model":"","messages":[{"role":"user"}]}"#,
            #"{"model":null,"messages":[{"role":"user"}]}"#,
            #"{"model":"m","messages":[{"role":"user"}],"seed":null,"stop":["\n","\u2028"]}"#,
            #"{"model":"m","model":"n","messages":[{"role":"user"}]}"#,  // a repeated key: CacheKey decides
            #"{"model":"m","messages":[{"a":1,"a":2}]}"#,
            #"{"model":"m","messages":[{"c":"\ud83d\ude00 \u00e9 e\u0301 \/ \" \\ \b\f\n\r\t \u0001"}],"n":1.5e300,"max_tokens":12345678901234567890}"#,
            #"{"model":"m","messages":[{"z":1,"y":{"b":[true,false,null],"a":-0.25}}],"logit_bias":{"50256":-100}}"#,
        ] { Self.agree(text) }
    }

    @Test func agreesOnGeneratedRequests() {
        var g = SplitMix64(seed: 99)
        let fields = CacheKey.fields + ["stream", "user", "metadata", "x"]
        var compared = 0
        for _ in 0..<2000 {
            var members = [
                "\"model\": " + ["\"m\"", "\"llama3.2\"", "\"caf\\u00e9\""][Int(g.next() % 3)],
                "\"messages\": [{\"role\": \"user\", \"content\": \(ChatRequestScannerTests.randomValue(&g, depth: 1))}]",
            ]
            for _ in 0..<Int(g.next() % 5) {
                let name = fields[Int(g.next() % UInt64(fields.count))]
                guard !members.contains(where: { $0.hasPrefix("\"\(name)\"") }) else { continue }
                members.append("\"\(name)\": " + ChatRequestScannerTests.randomValue(&g, depth: 1))
            }
            members.shuffle(using: &g)
            let space = ["", " ", "\n  ", "\t"][Int(g.next() % 4)]
            let text = "{" + space + members.joined(separator: "," + space) + space + "}"
            Self.agree(text)
            compared += 1
        }
        #expect(compared == 2000)
    }
}
