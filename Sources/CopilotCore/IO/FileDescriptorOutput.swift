#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Errors from writing results to a file descriptor.
package enum OutputError: Error, LocalizedError, Equatable {
    /// The reader went away (EPIPE): `copilot ... | head` closed the pipe. Commands exit
    /// quietly with status 0 on this error.
    case closed
    /// Any other write failure, with the errno text.
    case writeFailed(destination: String, reason: String)

    /// The message for this error.
    package var errorDescription: String? {
        switch self {
        case .closed: "output closed by the reader"
        case .writeFailed(let destination, let reason):
            "cannot write to \(destination): \(reason); check free space and permissions"
        }
    }
}

/// A small buffered writer over a raw file descriptor (stdout by default).
///
/// Writes go straight to `write(2)` so a closed pipe surfaces as ``OutputError/closed``
/// instead of a SIGPIPE kill; `flush()` after each decided line keeps streaming output live.
package final class FileDescriptorOutput {
    /// The process's standard output.
    nonisolated(unsafe) package static let standardOutput = FileDescriptorOutput(fd: STDOUT_FILENO, name: "stdout")

    private let fd: Int32
    private let name: String
    private var buffer: [UInt8] = []
    private let capacity: Int

    /// Wraps `fd`; `name` appears in error messages.
    package init(fd: Int32, name: String, capacity: Int = 1 << 16) {
        self.fd = fd
        self.name = name
        self.capacity = capacity
        buffer.reserveCapacity(capacity)
        Self.ignoreSigpipe()
    }

    deinit { try? flush() }

    /// Turns SIGPIPE into EPIPE errors for the whole process (idempotent).
    package static func ignoreSigpipe() {
        _ = sigpipeIgnored
    }

    private static let sigpipeIgnored: Bool = {
        signal(SIGPIPE, SIG_IGN)
        return true
    }()

    /// Appends text; flushed when the buffer fills or on `flush()`.
    package func write(_ text: String) throws {
        var text = text
        try text.withUTF8 { try write(bytes: UnsafeRawBufferPointer($0)) }
    }

    /// Appends raw bytes.
    package func write(bytes: UnsafeRawBufferPointer) throws {
        if buffer.count + bytes.count > capacity {
            try flush()
            if bytes.count >= capacity {
                try Self.writeAll(fd: fd, name: name, bytes)
                return
            }
        }
        buffer.append(contentsOf: bytes)
    }

    /// Writes everything buffered.
    package func flush() throws {
        guard !buffer.isEmpty else { return }
        defer { buffer.removeAll(keepingCapacity: true) }
        try buffer.withUnsafeBytes { try Self.writeAll(fd: fd, name: name, $0) }
    }

    /// Writes all of `bytes` to `fd`, retrying on EINTR and short writes.
    package static func writeAll(fd: Int32, name: String, _ bytes: UnsafeRawBufferPointer) throws {
        guard var base = bytes.baseAddress else { return }
        var left = bytes.count
        while left > 0 {
            let n = Glibc.write(fd, base, left)
            if n < 0 {
                let e = errno
                if e == EINTR { continue }
                if e == EPIPE { throw OutputError.closed }
                throw OutputError.writeFailed(destination: name, reason: String(cString: strerror(e)))
            }
            base += n
            left -= n
        }
    }
}

/// Writes diagnostics straight to fd 2, ignoring failures (there is nowhere left to report them).
package func writeStandardError(_ text: String) {
    var text = text
    text.withUTF8 { try? FileDescriptorOutput.writeAll(fd: STDERR_FILENO, name: "stderr", UnsafeRawBufferPointer($0)) }
}
