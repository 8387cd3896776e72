import CopilotGateway
import Testing

@Suite struct ChatStreamDecoderTests {
    static let events = [
        #"data: {"choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"}}]}"#,
        #"data: {"choices":[{"index":0,"delta":{"content":"lo, \"wörld\""}}]}"#,
        #"data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#,
        "data: [DONE]",
    ]

    /// The same content however the bytes are cut, with LF or CRLF event ends.
    @Test(arguments: ["\n\n", "\r\n\r\n"])
    func contentIsTheSameForEverySplit(separator: String) {
        let bytes = Array(Self.events.map { $0 + separator }.joined().utf8)
        for cut in 0...bytes.count {
            var decoder = ChatStreamDecoder()
            let text = (decoder.feed(bytes[..<cut]) + decoder.feed(bytes[cut...])).joined()
            #expect(text == #"Hello, "wörld""#, "cut at \(cut)")
            #expect(decoder.done && decoder.errorMessage == nil)
        }
    }

    @Test func anErrorEventIsReported() {
        var decoder = ChatStreamDecoder()
        let pieces = decoder.feed(Array(#"data: {"error":{"message":"the stream broke off","type":"api_error","code":"x"}}"#.utf8) + [10, 10])
        #expect(pieces.isEmpty && decoder.errorMessage == "the stream broke off" && !decoder.done)
        #expect(decoder.feed(Array("data: {not json\n\n".utf8)).isEmpty)
    }
}
