import ArgumentParser
import Foundation
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

/// Writes `value` to stdout as one line of sorted-key JSON when `json` is set, else `plain()`.
func writeReport<T: Encodable>(_ value: T, json: Bool, plain: () -> String) throws {
    try withStandardOutput { out in
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            try out.write(String(decoding: try encoder.encode(value), as: UTF8.self) + "\n")
        } else {
            try out.write(plain())
        }
    }
}
