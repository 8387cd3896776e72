import CopilotCore
import Testing

@Suite struct CacheKeyTests {
    static let base = #"{"model":"llama3.2","messages":[{"role":"user","content":"What is the capital of Australia?"}],"temperature":0}"#

    static func key(_ json: String) throws -> String { try CacheKey.key(request: Array(json.utf8)) }

    @Test func orderWhitespaceAndNumberSpellingDoNotMatter() throws {
        let k = try Self.key(Self.base)
        #expect(k.hasPrefix("chat:") && k.count == 5 + 64)
        #expect(try Self.key(#"{ "temperature": 0.0, "messages": [ { "content": "What is the capital of Australia?", "role": "user" } ], "model": "llama3.2" }"#) == k)
        #expect(try Self.key(#"{"model":"llama3.2","temperature":0e0,"messages":[{"role":"user","content":"What is the capital of Australia?"}],"stream":true,"user":"u1"}"#) == k)
        #expect(try Self.key("{\n\t\"model\":\"llama3.2\",\"messages\":[{\"role\":\"user\",\"content\":\"What is the capital of Australia?\"}],\"temperature\":0, \"seed\": null}") == k)
    }

    @Test func fieldsThatChangeTheAnswerChangeTheKey() throws {
        let k = try Self.key(Self.base)
        let variants = [
            #"{"model":"llama3.1","messages":[{"role":"user","content":"What is the capital of Australia?"}],"temperature":0}"#,
            #"{"model":"llama3.2","messages":[{"role":"user","content":"What is the capital of Austria?"}],"temperature":0}"#,
            #"{"model":"llama3.2","messages":[{"role":"user","content":"What is the capital of Australia?"}],"temperature":0.7}"#,
            #"{"model":"llama3.2","messages":[{"role":"user","content":"What is the capital of Australia?"}],"temperature":0,"top_p":0.9}"#,
            #"{"model":"llama3.2","messages":[{"role":"user","content":"What is the capital of Australia?"}],"temperature":0,"max_tokens":5}"#,
            #"{"model":"llama3.2","messages":[{"role":"user","content":"What is the capital of Australia?"}],"temperature":0,"seed":1}"#,
            #"{"model":"llama3.2","messages":[{"role":"user","content":"What is the capital of Australia?"}],"temperature":0,"response_format":{"type":"json_object"}}"#,
            #"{"model":"llama3.2","messages":[{"role":"user","content":"What is the capital of Australia?"}],"temperature":0,"tools":[{"type":"function","function":{"name":"f"}}]}"#,
            #"{"model":"llama3.2","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"What is the capital of Australia?"}],"temperature":0}"#,
        ]
        var seen: Set<String> = [k]
        for v in variants { #expect(seen.insert(try Self.key(v)).inserted, "\(v)") }
    }

    @Test func canonicalJSONIsSortedAndCompact() throws {
        #expect(try CacheKey.canonicalJSON(request: Array(#"{"temperature":1.50,"model":"m","messages":[{"role":"user","content":"a\"b"}]}"#.utf8))
                == #"{"messages":[{"content":"a\"b","role":"user"}],"model":"m","temperature":1.5}"#)
    }

    @Test func badRequestsAreErrors() {
        for bad in ["", "not json", "[1,2]", #"{"messages":[{"role":"user","content":"x"}]}"#, #"{"model":"m"}"#, #"{"model":"m","messages":[]}"#, #"{"model":3,"messages":[{}]}"#] {
            #expect(throws: CacheError.self, "\(bad)") { try Self.key(bad) }
        }
    }
}
