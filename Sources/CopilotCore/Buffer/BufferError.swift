import Foundation

/// Errors of the Buffer area: ring construction and the `copilot buffer` stage.
public enum BufferError: Error, LocalizedError, Equatable {
    /// A ring or frame ring was asked for a capacity it cannot have.
    case invalidCapacity(what: String, requested: Int, limit: Int)
    /// `--frame-ms`, `--hop-ms`, `--capacity-ms` or `--tail` is out of range.
    case invalidSetting(name: String, value: String, expected: String)
    /// The input ended in the middle of a sample frame (for example an odd byte count for s16le).
    case truncatedInput(input: String, byteCount: Int, bytesPerFrame: Int, format: String)
    /// Reading the input failed.
    case readFailed(input: String, reason: String)
    /// A worker thread could not be started.
    case threadFailed(reason: String)

    public var errorDescription: String? {
        switch self {
        case .invalidCapacity(let what, let requested, let limit):
            "\(what) capacity \(requested) is out of range; use 1...\(limit)"
        case .invalidSetting(let name, let value, let expected):
            "\(name) \(value) is out of range; use \(expected)"
        case .truncatedInput(let input, let byteCount, let bytesPerFrame, let format):
            "\(input): \(byteCount) bytes is not a whole number of \(format) sample frames "
                + "(\(bytesPerFrame) bytes each); the input is truncated or --raw/--channels is wrong"
        case .readFailed(let input, let reason):
            "cannot read \(input): \(reason)"
        case .threadFailed(let reason):
            "cannot start a buffer thread: \(reason); lower the system load or thread limits"
        }
    }
}
