#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Where `copilot buffer` reads bytes from: a file descriptor, or decoded audio turned into
/// raw PCM. Read by one thread.
public protocol ByteSource: AnyObject, Sendable {
    /// Names the input in error messages.
    var name: String { get }
    /// Fills the front of `buffer` with the next bytes and returns how many; 0 at the end.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
    /// Called once before the first read (a pipe may enlarge its buffer).
    func prepareForBulkReads()
}

extension ByteSource {
    /// Nothing to prepare by default.
    public func prepareForBulkReads() {}
}

/// Raw bytes from a file descriptor (stdin, a pipe, a file), `read(2)` straight into the
/// caller's buffer, retrying on EINTR.
public final class FileDescriptorSource: ByteSource, @unchecked Sendable {
    /// Names the input in error messages.
    public let name: String
    private let fd: Int32
    private let owned: Bool
    private var bytesLeft: Int?
    /// Bytes read from `fd` before this source (a sniffed head), handed out first.
    private var prefix: [UInt8]

    /// Reads `fd` (up to `byteLimit` bytes, for `--duration`, `prefix` first); it is closed
    /// on deinit only when `owned`.
    public init(fd: Int32, name: String, owned: Bool = false, byteLimit: Int? = nil, prefix: [UInt8] = []) {
        self.fd = fd
        self.name = name
        self.owned = owned
        bytesLeft = byteLimit
        self.prefix = prefix
    }

    /// Opens `path` for reading.
    public convenience init(path: String, byteLimit: Int? = nil) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw BufferError.readFailed(input: path, reason: String(cString: strerror(errno)) + "; check the path")
        }
        self.init(fd: fd, name: path, owned: true, byteLimit: byteLimit)
    }

    deinit { if owned { close(fd) } }

    /// Enlarges the pipe buffer when the descriptor is a pipe.
    public func prepareForBulkReads() {
        BufferStage.enlargePipe(fd)
    }

    /// One `read(2)` into the front of `buffer` (at most the bytes left of the limit);
    /// 0 at the end of the input.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let wanted = min(buffer.count, bytesLeft ?? Int.max)
        guard let base = buffer.baseAddress, wanted > 0 else { return 0 }
        if !prefix.isEmpty {
            let n = min(wanted, prefix.count)
            prefix.withUnsafeBytes { base.copyMemory(from: $0.baseAddress!, byteCount: n) }
            prefix.removeFirst(n)
            bytesLeft = bytesLeft.map { $0 - n }
            return n
        }
        while true {
            let n = Glibc.read(fd, base, wanted)
            if n >= 0 {
                bytesLeft = bytesLeft.map { $0 - n }
                return n
            }
            if errno == EINTR { continue }
            throw BufferError.readFailed(input: name, reason: String(cString: strerror(errno)))
        }
    }
}
