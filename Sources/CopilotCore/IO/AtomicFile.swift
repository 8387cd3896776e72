#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Whole-file writes that never leave a half-written file at the destination: the bytes go to
/// a temporary file in the same directory, are fsynced, and the temporary file is renamed over
/// the destination.
///
/// A destination that exists and is not a regular file (`/dev/null`, `/dev/stdout`, a FIFO) is
/// written in place instead: renaming over it would replace the device node with a plain file.
public enum AtomicFile {
    /// True when `path` exists and is not a regular file, so it must be written in place.
    public static func isSpecial(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) != S_IFREG
    }

    /// Writes `bytes` to `path` (see the type's documentation); errors name the path.
    public static func write(_ bytes: some Collection<UInt8>, to path: String) throws {
        let data = Array(bytes)
        if isSpecial(path) {
            let fd = open(path, O_WRONLY | O_CLOEXEC)
            guard fd >= 0 else { throw failure(path) }
            defer { close(fd) }
            try data.withUnsafeBytes { try FileDescriptorOutput.writeAll(fd: fd, name: path, $0) }
            return
        }
        let url = URL(fileURLWithPath: path)
        let temporary = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw failure(path) }
        var published = false
        defer { if !published { unlink(temporary) } }
        do {
            try data.withUnsafeBytes { try FileDescriptorOutput.writeAll(fd: fd, name: path, $0) }
            guard fsync(fd) == 0 else { throw failure(path) }
        } catch {
            close(fd)
            throw error
        }
        guard close(fd) == 0 else { throw failure(path) }
        guard rename(temporary, path) == 0 else { throw failure(path) }
        published = true
    }

    private static func failure(_ path: String) -> OutputError {
        .writeFailed(destination: path, reason: String(cString: strerror(errno)))
    }
}
