import ArgumentParser
import CopilotCore

/// Runs a command body that writes to stdout, turning a reader that went away (EPIPE) into a
/// quiet exit 0, the way `yes | head -1` behaves.
func withStandardOutput(_ body: (FileDescriptorOutput) throws -> Void) throws {
    let out = FileDescriptorOutput.standardOutput
    do {
        try body(out)
        try out.flush()
    } catch OutputError.closed {
        throw ExitCode.success
    }
}
