@testable import CopilotCore
import Testing

@Suite struct CacheValueCodecTests {
    static func chatJSON(_ i: Int) -> [UInt8] {
        let content = (0..<40).map { "Sentence \($0 % 7) of answer \(i): the meeting moves to the second week of March." }.joined(separator: " ")
        return Array("""
            {"id":"chatcmpl-\(i)","object":"chat.completion","created":1733300000,"model":"llama3.2","choices":[{"index":0,"message":{"role":"assistant","content":"\(content)"},"finish_reason":"stop"}],"usage":{"prompt_tokens":57,"completion_tokens":412,"total_tokens":469}}
            """.utf8)
    }

    @Test(arguments: CacheCompression.allCases)
    func roundTripsEverySize(compression: CacheCompression) throws {
        let codec = CacheValueCodec(thresholdBytes: 1024, compression: compression)
        var rng = SplitMix64(seed: 3)
        for size in [0, 1, 2, 100, 1023, 1024, 1025, 4096, 100_000] {
            for kind in 0..<2 {
                let value = (0..<size).map { _ in kind == 0 ? UInt8(rng.next() % 4 + 97) : UInt8(truncatingIfNeeded: rng.next()) }
                for expiry in [nil, Int64(1_733_300_000_123)] as [Int64?] {
                    let stored = try codec.encode(value, expiresAtMs: expiry)
                    #expect(codec.decode(stored) == CacheValueCodec.Decoded(value: value, expiresAtMs: expiry))
                    // Cut in place from bytes given up, or from bytes still shared (copied).
                    #expect(codec.decode(taking: Array(stored)) == CacheValueCodec.Decoded(value: value, expiresAtMs: expiry))
                    #expect(codec.decode(taking: stored) == CacheValueCodec.Decoded(value: value, expiresAtMs: expiry))
                    #expect(codec.decode(stored) == CacheValueCodec.Decoded(value: value, expiresAtMs: expiry))
                    let compressed = stored[3] != 0
                    #expect(compressed == (compression != .none && size > 1024 && kind == 0))
                }
            }
        }
    }

    /// Damage anywhere (every byte of a small compressed value, sampled bytes of a large one)
    /// reads as nil, never as other bytes.
    @Test(arguments: CacheCompression.allCases)
    func damageIsNeverWrongBytes(compression: CacheCompression) throws {
        let codec = CacheValueCodec(thresholdBytes: 16, compression: compression)
        let value = Array(Self.chatJSON(1).prefix(700))
        let stored = try codec.encode(value, expiresAtMs: 99)
        for position in 0..<stored.count {
            for flip in [UInt8(0x01), 0x80, 0xFF] {
                var damaged = stored
                damaged[position] ^= flip
                if let d = codec.decode(damaged) { #expect(d.value == value && d.expiresAtMs == 99, "position \(position)") }
                #expect(codec.decode(taking: damaged) == codec.decode(damaged), "position \(position)")
            }
        }
        #expect(codec.decode(Array(stored.dropLast())) == nil)
        #expect(codec.decode(stored + [0]) == nil)
        #expect(codec.decode([]) == nil)
        #expect(codec.decode(taking: Array(stored.dropLast())) == nil)
        #expect(codec.decode(taking: stored + [0]) == nil)
        #expect(codec.decode(taking: []) == nil)
    }

    @Test func zstdIsThreeTimesSmallerOnChatCompletions() throws {
        for compression in [CacheCompression.zstd, .lz4] {
            let codec = CacheValueCodec(compression: compression)
            var original = 0, stored = 0
            for i in 0..<50 {
                let v = Self.chatJSON(i)
                original += v.count
                stored += try codec.encode(v, expiresAtMs: nil).count
            }
            let ratio = Double(original) / Double(stored)
            #expect(ratio >= (compression == .zstd ? 3 : 1.5), "\(compression) ratio \(ratio)")
        }
    }
}
