#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// The one way copilot writes a file the user keeps (transcripts, mel files, filters, audio):
/// the bytes go to a hidden temporary file in the destination's directory; ``publish(createOnly:)``
/// fsyncs it, gives it the mode of the file it replaces, renames it over the destination (or
/// links it, when the destination must not exist yet) and fsyncs the directory. A crash or an
/// error at any point leaves the old file or the new one, never a mix, and never a stray
/// temporary file once the writer is gone.
///
/// A destination that exists and is not a regular file (`/dev/null`, `/dev/stdout`, a FIFO) is
/// written in place instead: renaming over it would replace the device node with a plain file.
package final class StagedFile {
    /// Why a step failed: the operation, the path it was on and `errno`.
    package struct Failure: Error, Sendable {
        /// What was being done ("fsync", "rename", ...).
        package var operation: String
        /// The path it was done on.
        package var path: String
        /// `errno` after the failed call.
        package var code: Int32
        /// The system's words for `code`.
        package var reason: String { String(cString: strerror(code)) }
    }

    /// The destination.
    package let path: String
    /// Where the bytes go until ``publish(createOnly:)``: the hidden temporary file, or `path`
    /// itself when it is a device or FIFO.
    package let stagingPath: String
    /// Whether the destination is written in place (a device or FIFO).
    package let inPlace: Bool
    private var settled = false

    /// Stages a write of `path`; nothing is created until the caller opens ``stagingPath``
    /// (or calls ``open()``).
    package init(_ path: String) {
        self.path = path
        inPlace = Self.isSpecial(path)
        let url = URL(fileURLWithPath: path)
        stagingPath = inPlace
            ? path
            : url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
    }

    deinit { discard() }

    /// True when `path` exists and is not a regular file, so it must be written in place.
    package static func isSpecial(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) != S_IFREG
    }

    /// Opens the staging file for writing (created, mode 0644 before the umask, or the device
    /// as it is). The caller closes the descriptor before ``publish(createOnly:)``.
    package func open() throws(Failure) -> Int32 {
        let fd = inPlace ? Glibc.open(stagingPath, O_WRONLY | O_CLOEXEC) : Glibc.open(stagingPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw Failure(operation: "open", path: stagingPath, code: errno) }
        return fd
    }

    /// Opens the staging file, lets `body` write to its descriptor and closes it (also when
    /// `body` throws, whose error then comes out unchanged).
    package func write(_ body: (Int32) throws -> Void) throws {
        let fd = try open()
        do {
            try body(fd)
        } catch {
            close(fd)
            throw error
        }
        guard close(fd) == 0 else { throw Failure(operation: "close", path: stagingPath, code: errno) }
    }

    /// Makes the staged bytes the destination's, durably (see the type). With `createOnly`, an
    /// existing destination is left alone and the failure's code is `EEXIST`.
    package func publish(createOnly: Bool = false) throws(Failure) {
        guard !inPlace else {
            settled = true
            return
        }
        let fd = Glibc.open(stagingPath, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Failure(operation: "open", path: stagingPath, code: errno) }
        var existing = stat()
        if !createOnly, stat(path, &existing) == 0 {
            _ = fchmod(fd, existing.st_mode & 0o7777)  // the replacement keeps the old file's permissions
        }
        let synced = fsync(fd) == 0
        let code = errno
        close(fd)
        guard synced else { throw Failure(operation: "fsync", path: stagingPath, code: code) }
        if createOnly {
            guard link(stagingPath, path) == 0 else { throw Failure(operation: "link", path: path, code: errno) }
            unlink(stagingPath)
        } else {
            guard rename(stagingPath, path) == 0 else { throw Failure(operation: "rename", path: path, code: errno) }
        }
        settled = true
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        let dfd = Glibc.open(directory.isEmpty ? "." : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 {
            _ = fsync(dfd)
            close(dfd)
        }
    }

    /// Drops the staged bytes (nothing at the destination changes); what `deinit` does for a
    /// write that was never published.
    package func discard() {
        guard !settled else { return }
        settled = true
        if !inPlace { unlink(stagingPath) }
    }
}

/// Whole-file writes through ``StagedFile``.
package enum AtomicFile {
    /// Writes `bytes` to `path` (see ``StagedFile``); errors name the path.
    package static func write(_ bytes: some Collection<UInt8>, to path: String) throws {
        let data = Array(bytes)
        let staged = StagedFile(path)
        do {
            try staged.write { fd in try data.withUnsafeBytes { try FileDescriptorOutput.writeAll(fd: fd, name: path, $0) } }
            try staged.publish()
        } catch let failure as StagedFile.Failure {
            throw OutputError.writeFailed(destination: path, reason: failure.reason)
        }
    }
}
