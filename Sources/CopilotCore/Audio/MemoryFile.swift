#if canImport(Glibc)
import Glibc
#endif

/// A read-only, seekable file in memory behind a C library's reader callbacks (libsndfile's
/// virtual I/O, libmpg123's reader handle): an encoded input piped to stdin.
final class MemoryFile {
    let bytes: [UInt8]
    /// Read position, in bytes from the start.
    var position = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    /// Length, in bytes.
    var length: Int { bytes.count }

    /// The instance behind a callback's user pointer, which the C library hands back exactly as
    /// it was given at open (always this object).
    static func from(_ user: UnsafeMutableRawPointer?) -> MemoryFile {
        guard let user else { preconditionFailure("a reader callback without its MemoryFile") }
        return Unmanaged<MemoryFile>.fromOpaque(user).takeUnretainedValue()
    }

    /// Moves to `offset` from the start, the position or the end (`SEEK_SET`, `SEEK_CUR`,
    /// `SEEK_END`), clamped to the file; returns the new position.
    func seek(_ offset: Int, whence: Int32) -> Int {
        let base: Int
        switch whence {
        case SEEK_CUR: base = position
        case SEEK_END: base = length
        default: base = 0
        }
        position = min(max(base + offset, 0), length)
        return position
    }

    /// Copies up to `count` bytes from the position; returns how many (0 at the end).
    func read(into pointer: UnsafeMutableRawPointer?, count: Int) -> Int {
        guard let pointer, count > 0 else { return 0 }
        let n = min(count, length - position)
        guard n > 0 else { return 0 }
        bytes.withUnsafeBytes { raw in
            if let base = raw.baseAddress { pointer.copyMemory(from: base + position, byteCount: n) }
        }
        position += n
        return n
    }
}
