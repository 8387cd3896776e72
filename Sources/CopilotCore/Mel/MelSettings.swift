import Foundation

/// Errors of the mel area (writing features out).
public enum MelError: Error, LocalizedError, Equatable {
    /// The features could not be written to `path`; the reason from the system.
    case cannotWrite(path: String, reason: String)

    public var errorDescription: String? {
        switch self {
        case .cannotWrite(let path, let reason):
            "cannot write features to \(path): \(reason); check the directory exists and is writable, or use --output -"
        }
    }
}

/// The `[mel]` section of `copilot.toml`: defaults of `copilot mel`. Flags override each value.
public struct MelSettings: Sendable, Equatable {
    /// Threads sharing the frames of one spectrogram.
    public var threads: Int
    /// Output format of `copilot mel`.
    public var format: MelOutputFormat

    /// The built-in defaults, which `config/copilot.toml` documents.
    public static let defaults = MelSettings(threads: 1, format: .npy)

    /// Keys of the section, for `checkKeys`.
    public static let keys = ["threads", "format"]

    /// Creates settings.
    public init(threads: Int, format: MelOutputFormat) {
        self.threads = threads
        self.format = format
    }

    /// Reads the `[mel]` section; absent keys take the built-in defaults, unknown keys and
    /// out-of-range values are errors naming the file and key.
    public init(configuration: Configuration) throws {
        let section = try configuration.section("mel")
        try section.checkKeys(known: Self.keys)
        threads = try section.int("threads", default: Self.defaults.threads, in: 1...64)
        format = try section.choice("format", default: Self.defaults.format)
    }
}

extension MelSpectrogram {
    /// Writes the features in `format` to `path` through ``AtomicFile`` (a reader never sees
    /// half a file).
    public func write(toFile path: String, format: MelOutputFormat) throws {
        do {
            try AtomicFile.write(encoded(as: format), to: path)
        } catch OutputError.writeFailed(_, let reason) {
            throw MelError.cannotWrite(path: path, reason: reason)
        }
    }
}
