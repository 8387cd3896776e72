import CopilotCore
import Foundation
import Testing

@Suite struct CachedCompletionTests {
    static let completion = #"{"id":"chatcmpl-1","object":"chat.completion","created":1733300000,"model":"llama3.2","choices":[{"index":0,"message":{"role":"assistant","content":"Canberra is the capital."},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":5,"total_tokens":14}}"#

    static func object(_ bytes: [UInt8]) throws -> NSDictionary {
        try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? NSDictionary)
    }

    @Test func aPlainAnswerIsReplayedAsAStreamAndBack() throws {
        let entry = CachedCompletion.entry(Array(Self.completion.utf8), form: .json)
        #expect(try CachedCompletion.json(from: entry) == Array(Self.completion.utf8))
        let stream = String(decoding: try CachedCompletion.sse(from: entry), as: UTF8.self)
        #expect(stream.hasSuffix("data: [DONE]\n\n"))
        #expect(stream.components(separatedBy: "\n\n").filter { $0.hasPrefix("data: {") }.count == 2)
        #expect(stream.contains("\"chat.completion.chunk\"") && stream.contains("Canberra is the capital."))
        // Folding the replayed stream gives the original answer back.
        let folded = try CachedCompletion.json(from: CachedCompletion.entry(Array(stream.utf8), form: .sse))
        #expect(try Self.object(folded) == Self.object(Array(Self.completion.utf8)))
    }

    @Test func aStreamIsFoldedIntoOneAnswer() throws {
        let chunks = [
            #"{"id":"c2","object":"chat.completion.chunk","created":5,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}"#,
            #"{"id":"c2","object":"chat.completion.chunk","created":5,"model":"m","choices":[{"index":0,"delta":{"content":"Can"},"finish_reason":null}]}"#,
            #"{"id":"c2","object":"chat.completion.chunk","created":5,"model":"m","choices":[{"index":0,"delta":{"content":"berra"},"finish_reason":null}]}"#,
            #"{"id":"c2","object":"chat.completion.chunk","created":5,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"t1","type":"function","function":{"name":"lookup","arguments":"{\"q\":"}}]},"finish_reason":null}]}"#,
            #"{"id":"c2","object":"chat.completion.chunk","created":5,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"x\"}"}}]},"finish_reason":"stop"}],"usage":{"total_tokens":3}}"#,
        ]
        let sse = chunks.map { "data: \($0)\n\n" }.joined() + "data: [DONE]\n\n"
        let entry = CachedCompletion.entry(Array(sse.utf8), form: .sse)
        #expect(try CachedCompletion.sse(from: entry) == Array(sse.utf8))
        let answer = try Self.object(try CachedCompletion.json(from: entry))
        let choice = try #require((answer["choices"] as? [NSDictionary])?.first)
        let message = try #require(choice["message"] as? NSDictionary)
        #expect(message["content"] as? String == "Canberra")
        #expect(choice["finish_reason"] as? String == "stop")
        let call = try #require((message["tool_calls"] as? [NSDictionary])?.first)
        #expect((call["function"] as? NSDictionary)?["arguments"] as? String == "{\"q\":\"x\"}")
        #expect(answer["object"] as? String == "chat.completion" && answer["id"] as? String == "c2")
        #expect((answer["usage"] as? NSDictionary)?["total_tokens"] as? Int == 3)
    }

    @Test func foreignEntriesAreErrors() {
        #expect(throws: CacheError.self) { try CachedCompletion.json(from: Array("hello".utf8)) }
        #expect(throws: CacheError.self) { try CachedCompletion.sse(from: []) }
        #expect(throws: CacheError.self) { try CachedCompletion.sse(from: CachedCompletion.entry(Array("not json".utf8), form: .json)) }
    }
}
