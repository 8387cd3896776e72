import Foundation

/// Everything that can go wrong with a Bloom filter, its file or its input.
public enum BloomError: Error, LocalizedError, Equatable {
    /// `--capacity` below 1.
    case capacityTooSmall(Int)
    /// `--fp-rate` not strictly between 0 and 1 (or not a number).
    case falsePositiveRateOutOfRange(Double)
    /// The requested filter needs more memory than the supported maximum.
    case filterTooLarge(capacity: Int, falsePositiveRate: Double, bytes: Double, limitBytes: Int)
    /// Two filters with different layouts were combined.
    case incompatible(String)
    /// No file at the path.
    case fileNotFound(path: String)
    /// `create` would replace an existing filter.
    case fileExists(path: String)
    /// The file does not start with the filter magic: it is something else.
    case notAFilter(path: String)
    /// A filter file written by a newer (or unknown) format version.
    case unsupportedVersion(path: String, version: UInt32)
    /// A filter kind or hash this build does not know.
    case unsupportedLayout(path: String, what: String)
    /// The file is shorter (or longer) than its header says.
    case truncated(path: String, expectedBytes: Int, actualBytes: Int)
    /// The checksum does not match the contents.
    case corrupt(path: String, reason: String)
    /// Another process holds the writer lock.
    case locked(path: String, holder: Int32?)
    /// A system call failed.
    case system(path: String, operation: String, reason: String)
    /// An input line longer than the limit.
    case lineTooLong(source: String, line: Int, limitBytes: Int)
    /// `--impl reference` was asked for with a filter file: files hold the split-block filter,
    /// which CopilotReference's classic filter cannot read or write.
    case referenceHasNoFile(path: String, command: String)

    public var errorDescription: String? {
        switch self {
        case .capacityTooSmall(let n):
            "capacity \(n) is too small; give the number of items the filter must hold (at least 1)"
        case .falsePositiveRateOutOfRange(let p):
            "false-positive rate \(p) is outside (0, 1); give a probability such as 0.01"
        case .filterTooLarge(let n, let p, let bytes, let limit):
            "a filter for \(n) items at false-positive rate \(p) needs \(Self.formatBytes(bytes)), more than the \(Self.formatBytes(Double(limit))) limit; lower --capacity or raise --fp-rate"
        case .incompatible(let why):
            "filters are incompatible: \(why); only filters created with the same --capacity and --fp-rate can be combined"
        case .fileNotFound(let path):
            "\(path): no such filter file; create it with `copilot bloom create \(path) --capacity N`"
        case .fileExists(let path):
            "\(path) already exists; pass --force to replace it or choose another name"
        case .notAFilter(let path):
            "\(path) is not a copilot Bloom filter file (wrong magic); check the path"
        case .unsupportedVersion(let path, let version):
            "\(path) has filter format version \(version), this copilot reads version \(BloomFileFormat.version); upgrade copilot or recreate the filter"
        case .unsupportedLayout(let path, let what):
            "\(path) uses an unknown \(what); it was written by another copilot build, recreate the filter"
        case .truncated(let path, let expected, let actual):
            "\(path) is \(actual) bytes but its header says \(expected); the file is truncated or damaged, recreate it"
        case .corrupt(let path, let reason):
            "\(path) is corrupt (\(reason)); recreate the filter"
        case .locked(let path, let holder):
            "\(path) is being written by another process\(holder.map { " (pid \($0))" } ?? ""); wait for it to finish and retry"
        case .system(let path, let operation, let reason):
            "\(path): \(operation) failed: \(reason)"
        case .lineTooLong(let source, let line, let limit):
            "\(source): line \(line) is longer than \(limit) bytes; split it or hash it first (lines over 1 MiB are refused)"
        case .referenceHasNoFile(let path, let command):
            "\(path): filter files hold the optimized split-block filter, which the reference implementation (a classic in-memory Bloom filter) cannot read or write; "
                + (command == "dedup" ? "drop the file to dedup in memory with the reference, or pass --impl optimized" : "pass --impl optimized")
        }
    }

    static func formatBytes(_ bytes: Double) -> String {
        if bytes >= 1_073_741_824 { return String(format: "%.1f GiB", bytes / 1_073_741_824) }
        if bytes >= 1_048_576 { return String(format: "%.1f MiB", bytes / 1_048_576) }
        if bytes >= 1024 { return String(format: "%.1f KiB", bytes / 1024) }
        return "\(Int(bytes)) bytes"
    }
}
