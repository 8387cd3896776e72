import Foundation

/// Reads raw s16le mono samples from a file descriptor as floats in [-1, 1), returning as soon
/// as some data is available (so a pipe is processed live). Used by `copilot vad` until the
/// shared audio input lands.
public final class RawPCMReader {
    private let fd: Int32
    /// Names the input in error messages.
    public let description: String
    private var bytes = [UInt8](repeating: 0, count: 1 << 15)
    private var carry: UInt8?

    /// A reader of `fd` (not closed by the reader).
    public init(fd: Int32, description: String) {
        self.fd = fd
        self.description = description
    }

    /// Reads up to `buffer.count` samples; returns 0 at the end of the input.
    public func read(into buffer: UnsafeMutableBufferPointer<Float>) throws -> Int {
        while true {
            let want = min(bytes.count, buffer.count * 2) - (carry == nil ? 0 : 1)
            let offset = carry == nil ? 0 : 1
            if let c = carry { bytes[0] = c }
            let got = bytes.withUnsafeMutableBytes { raw in
                Foundation.read(fd, raw.baseAddress! + offset, want)
            }
            if got < 0 {
                if errno == EINTR { continue }
                throw VADError.readFailed(input: description, reason: String(cString: strerror(errno)))
            }
            if got == 0 {
                if carry != nil { throw VADError.truncatedSample(input: description, bytes: 1) }
                return 0
            }
            let total = got + offset
            let samples = total / 2
            carry = total % 2 == 1 ? bytes[total - 1] : nil
            if samples == 0 { continue }
            for i in 0..<samples {
                let v = Int16(bitPattern: UInt16(bytes[2 * i]) | (UInt16(bytes[2 * i + 1]) << 8))
                buffer[i] = Float(v) / 32768
            }
            return samples
        }
    }
}
