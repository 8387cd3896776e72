/// Decoded audio (a file, a live device) as raw s16le mono bytes for `copilot buffer`: the
/// stream's float samples, clipped, NaN as silence, scaled by 32768 as ``RawPCMWriter`` does.
public final class AudioStreamSource: ByteSource, @unchecked Sendable {
    /// Names the input in error messages.
    public var name: String { stream.description }
    /// Sample rate of the bytes produced, in Hz.
    public var sampleRate: Int { stream.sampleRate }
    private let stream: AudioStream
    private var samples: [Float]

    /// Reads from `stream` (read by one thread only).
    public init(stream: AudioStream) {
        self.stream = stream
        samples = [Float](repeating: 0, count: 1 << 14)
    }

    /// Reads up to `buffer.count / 2` samples and stores them as s16le; 0 at the end.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let wanted = min(buffer.count / 2, samples.count)
        guard wanted > 0 else { return 0 }
        let count = try samples.withUnsafeMutableBufferPointer {
            try stream.read(into: UnsafeMutableBufferPointer(rebasing: $0[..<wanted]))
        }
        samples.withUnsafeBufferPointer { floats in
            for i in 0..<count {
                let v = Int16(min(max((sanitizedSample(floats[i]) * 32768).rounded(), -32768), 32767))
                buffer.storeBytes(of: v.littleEndian, toByteOffset: i * 2, as: Int16.self)
            }
        }
        return count * 2
    }
}
