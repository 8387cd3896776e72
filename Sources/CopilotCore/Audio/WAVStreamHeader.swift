#if canImport(Glibc)
import Glibc
#endif

/// The header of a WAV stream arriving on a pipe (`arecord ... | copilot vad` sends WAV by
/// default), parsed as it arrives so the samples after it can be streamed live instead of
/// waiting for the end of the input.
///
/// Only the PCM layouts copilot reads raw (16/32-bit integer, 32-bit float) stream this way;
/// anything else (ADPCM, 8 or 24 bits...) is left to libsndfile on the whole input.
package struct WAVStreamHeader: Equatable {
    /// Sample layout of the data chunk.
    package var layout: RawPCMLayout
    /// Bytes of audio the data chunk announces, or `nil` when the writer did not know
    /// (0 or near 2^31/2^32, as `arecord` and `ffmpeg` write to pipes).
    package var dataBytes: Int?

    /// The outcome of reading a stream's header.
    package enum Outcome {
        /// A streamable header; `remainder` holds the bytes already read past it.
        case streamable(WAVStreamHeader, remainder: [UInt8])
        /// A valid WAV that copilot does not stream (or not a WAV); `consumed` is every byte
        /// read so far, to be decoded together with the rest.
        case notStreamable(consumed: [UInt8])
    }

    /// Reads from `fd` (after the bytes in `prefix`) up to the start of the data chunk.
    /// Throws ``AudioError/corrupt(input:reason:)`` when the input ends inside the header.
    package static func read(fd: Int32, prefix: [UInt8], name: String) throws -> Outcome {
        var bytes = prefix
        /// Makes sure `count` bytes are in hand; `false` at the end of input.
        func need(_ count: Int) throws -> Bool {
            var chunk = [UInt8](repeating: 0, count: 4096)
            while bytes.count < count {
                let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, min($0.count, count - bytes.count)) }
                if n < 0 {
                    if errno == EINTR { continue }
                    throw AudioError.readFailed(input: name, reason: String(cString: strerror(errno)))
                }
                if n == 0 { return false }
                bytes.append(contentsOf: chunk[0..<n])
            }
            return true
        }
        func u16(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 }
        func u32(_ at: Int) -> Int { u16(at) | u16(at + 2) << 16 }
        func tag(_ at: Int) -> String { String(decoding: bytes[at..<(at + 4)], as: UTF8.self) }

        guard try need(12), tag(0) == "RIFF", tag(8) == "WAVE" else { return .notStreamable(consumed: bytes) }
        var offset = 12
        var layout: RawPCMLayout?
        while true {
            guard try need(offset + 8) else {
                throw AudioError.corrupt(input: name, reason: "the WAV header ends before its data chunk")
            }
            let id = tag(offset)
            let size = u32(offset + 4)
            let body = offset + 8
            if id == "data" {
                guard let layout else { return .notStreamable(consumed: bytes) }
                let unknown = size == 0 || size >= 0x7FFF_0000
                let header = WAVStreamHeader(layout: layout, dataBytes: unknown ? nil : size)
                return .streamable(header, remainder: Array(bytes[body...]))
            }
            if id == "fmt " {
                guard size >= 16, size <= 1024, try need(body + size) else {
                    throw AudioError.corrupt(input: name, reason: "the WAV fmt chunk is cut short")
                }
                var formatTag = u16(body)
                if formatTag == 0xFFFE && size >= 26 { formatTag = u16(body + 24) }  // WAVE_FORMAT_EXTENSIBLE
                let channels = u16(body + 2)
                let rate = u32(body + 4)
                let bits = u16(body + 14)
                let format: RawSampleFormat?
                switch (formatTag, bits) {
                case (1, 16): format = .s16le
                case (1, 32): format = .s32le
                case (3, 32): format = .f32le
                default: format = nil
                }
                guard let format else { return .notStreamable(consumed: bytes) }
                layout = RawPCMLayout(format: format, sampleRate: rate, channels: channels)
            } else if size > 1 << 20 {
                // A huge chunk before the audio: not something to buffer from a pipe here.
                return .notStreamable(consumed: bytes)
            }
            offset = body + size + (size & 1)
        }
    }
}
