/// Which implementation of a component runs: copilot's optimized code, or CopilotReference's
/// plain, Python-parity twin (`--impl`, `[general] impl`).
public enum Implementation: String, CaseIterable, Sendable, Equatable {
    /// The optimized path; it falls back to the reference by itself when its self-check fails.
    case optimized
    /// The plain reference: slower, written like the Python prototype, always available.
    case reference
}

/// The `[general]` section: settings every subcommand shares.
public struct GeneralSettings: Sendable, Equatable {
    /// The implementation components run by default.
    public var implementation: Implementation

    /// The built-in defaults, which `config/copilot.toml` documents.
    public static let defaults = GeneralSettings(implementation: .optimized)

    /// Keys of the section, for `checkKeys`.
    public static let keys = ["impl"]

    /// Creates settings.
    public init(implementation: Implementation) {
        self.implementation = implementation
    }

    /// Reads `[general]`; absent keys take the defaults, unknown keys and bad values are errors
    /// naming the file and key.
    public init(configuration: Configuration) throws {
        let section = try configuration.section("general")
        try section.checkKeys(known: Self.keys)
        implementation = try section.choice("impl", default: Self.defaults.implementation)
    }
}
