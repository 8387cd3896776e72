import Foundation
import TOMLKit

/// Errors reading `copilot.toml`.
public enum ConfigurationError: Error, LocalizedError, Equatable {
    /// The file named by `--config` or `COPILOT_CONFIG` does not exist or cannot be read.
    case unreadable(path: String, reason: String)
    /// The file is not valid TOML.
    case syntax(path: String, line: Int, column: Int, reason: String)
    /// A key has the wrong type or an out-of-range value.
    case invalidValue(path: String, key: String, expected: String)
    /// A key or section that copilot does not know (usually a typo).
    case unknownKey(path: String, key: String, known: [String])
    /// A key that has no default is absent.
    case missingKey(path: String, key: String, expected: String)
    /// Two entries that must differ are the same (for example two providers with one name).
    case conflict(path: String, key: String, reason: String)

    public var errorDescription: String? {
        switch self {
        case .unreadable(let path, let reason):
            "cannot read configuration \(path): \(reason); pass an existing file to --config"
        case .syntax(let path, let line, let column, let reason):
            "\(path):\(line):\(column): invalid TOML: \(reason)"
        case .invalidValue(let path, let key, let expected):
            "\(path): `\(key)` must be \(expected); fix the value or delete the line to use the default"
        case .unknownKey(let path, let key, let known):
            "\(path): unknown key `\(key)`; known keys here: \(known.joined(separator: ", "))"
        case .missingKey(let path, let key, let expected):
            "\(path): `\(key)` is required; add it (\(expected))"
        case .conflict(let path, let key, let reason):
            "\(path): `\(key)`: \(reason)"
        }
    }
}

/// The parsed configuration file: sections of typed keys, each area reading its own section.
///
/// Lookup order for the file: `--config PATH`, then `$COPILOT_CONFIG`, then
/// `$XDG_CONFIG_HOME/copilot/copilot.toml` (or `~/.config/copilot/copilot.toml`); with none
/// present every key takes its built-in default, which `config/copilot.toml` documents.
/// Command-line flags override the file.
public struct Configuration: @unchecked Sendable {
    /// Path the values came from, or `nil` for built-in defaults.
    public let path: String?
    private let table: TOMLTable?

    /// Built-in defaults only.
    public static let defaults = Configuration(path: nil, table: nil)

    private init(path: String?, table: TOMLTable?) {
        self.path = path
        self.table = table
    }

    /// Parses TOML text; `path` names it in errors.
    public init(text: String, path: String) throws {
        do {
            self.init(path: path, table: try TOMLTable(string: text))
        } catch let error as TOMLParseError {
            throw ConfigurationError.syntax(
                path: path, line: error.source.begin.line, column: error.source.begin.column,
                reason: error.description)
        }
    }

    /// Loads the file at `path`.
    public init(contentsOf path: String) throws {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ConfigurationError.unreadable(path: path, reason: "no such file or not readable")
        }
        try self.init(text: String(decoding: data, as: UTF8.self), path: path)
    }

    /// Every section copilot reads; any other is refused as a typo by ``load(explicitPath:environment:)``.
    package static let knownSections = ["general", "audio", "buffer", "transcribe", "bloom", "consensus", "vad", "mel", "cache", "route"]

    /// Resolves the configuration from an explicit path or the environment (see type docs),
    /// refusing sections copilot does not know.
    public static func load(explicitPath: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Configuration {
        let configuration: Configuration
        let base = environment["XDG_CONFIG_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (environment["HOME"].map { $0 + "/.config" } ?? "")
        let userFile = base + "/copilot/copilot.toml"
        if let explicitPath {
            configuration = try Configuration(contentsOf: explicitPath)
        } else if let fromEnv = environment["COPILOT_CONFIG"], !fromEnv.isEmpty {
            configuration = try Configuration(contentsOf: fromEnv)
        } else if !base.isEmpty && FileManager.default.fileExists(atPath: userFile) {
            configuration = try Configuration(contentsOf: userFile)
        } else {
            return .defaults
        }
        try configuration.checkSections(known: knownSections)
        return configuration
    }

    /// Section names present in the file.
    package var sectionNames: [String] { table?.keys ?? [] }

    /// A section's reader; an absent section reads as all defaults.
    package func section(_ name: String) throws -> ConfigurationSection {
        guard let value = table?[name] else {
            return ConfigurationSection(name: name, path: path ?? "defaults", table: nil)
        }
        guard let sub = value.table else {
            throw ConfigurationError.invalidValue(path: path ?? "defaults", key: name, expected: "a [\(name)] table")
        }
        return ConfigurationSection(name: name, path: path ?? "defaults", table: sub)
    }

    /// Refuses sections copilot does not know.
    package func checkSections(known: [String]) throws {
        for name in sectionNames where !known.contains(name) {
            throw ConfigurationError.unknownKey(path: path ?? "defaults", key: name, known: known)
        }
    }
}

/// Typed access to one `[section]` of the configuration.
package struct ConfigurationSection {
    /// Section name, e.g. `buffer`.
    package let name: String
    let path: String
    let table: TOMLTable?

    /// Refuses keys the area does not know.
    package func checkKeys(known: [String]) throws {
        for key in table?.keys ?? [] where !known.contains(key) {
            throw ConfigurationError.unknownKey(path: path, key: "\(name).\(key)", known: known)
        }
    }

    /// An integer key within `range`, or `defaultValue` when absent.
    package func int(_ key: String, default defaultValue: Int, in range: ClosedRange<Int>) throws -> Int {
        guard let value = table?[key] else { return defaultValue }
        guard let v = value.int, range.contains(v) else {
            throw ConfigurationError.invalidValue(
                path: path, key: "\(name).\(key)", expected: "an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        return v
    }

    /// A number key within `range` (integers accepted), or `defaultValue` when absent.
    package func double(_ key: String, default defaultValue: Double, in range: ClosedRange<Double>) throws -> Double {
        guard let value = table?[key] else { return defaultValue }
        guard let v = value.double ?? value.int.map(Double.init), range.contains(v) else {
            throw ConfigurationError.invalidValue(
                path: path, key: "\(name).\(key)", expected: "a number in \(range.lowerBound)...\(range.upperBound)")
        }
        return v
    }

    /// A boolean key, or `defaultValue` when absent.
    package func bool(_ key: String, default defaultValue: Bool) throws -> Bool {
        guard let value = table?[key] else { return defaultValue }
        guard let v = value.bool else {
            throw ConfigurationError.invalidValue(path: path, key: "\(name).\(key)", expected: "true or false")
        }
        return v
    }

    /// A string key, or `defaultValue` when absent.
    package func string(_ key: String, default defaultValue: String) throws -> String {
        guard let value = table?[key] else { return defaultValue }
        guard let v = value.string else {
            throw ConfigurationError.invalidValue(path: path, key: "\(name).\(key)", expected: "a string")
        }
        return v
    }

    /// Whether the section sets `key` at all.
    package func contains(_ key: String) -> Bool { table?[key] != nil }

    /// A string key with no default; absent, it is an error saying what to add.
    package func requiredString(_ key: String, expected: String) throws -> String {
        guard table?[key] != nil else {
            throw ConfigurationError.missingKey(path: path, key: "\(name).\(key)", expected: expected)
        }
        return try string(key, default: "")
    }

    /// An array-of-strings key (`models = ["a", "b"]`), or `defaultValue` when absent.
    package func strings(_ key: String, default defaultValue: [String]) throws -> [String] {
        guard let value = table?[key] else { return defaultValue }
        guard let array = value.array else {
            throw ConfigurationError.invalidValue(path: path, key: "\(name).\(key)", expected: "an array of strings, e.g. [\"a\", \"b\"]")
        }
        var result: [String] = []
        result.reserveCapacity(array.count)
        for element in array {
            guard let s = element.string else {
                throw ConfigurationError.invalidValue(path: path, key: "\(name).\(key)", expected: "an array of strings, e.g. [\"a\", \"b\"]")
            }
            result.append(s)
        }
        return result
    }

    /// An array of tables (`[[route.providers]]` read from the `route` section as `providers`),
    /// each as a section named `route.providers[i]` so errors point at the entry; absent, empty.
    package func tables(_ key: String) throws -> [ConfigurationSection] {
        guard let value = table?[key] else { return [] }
        let expected = "an array of tables: one [[\(name).\(key)]] header per entry"
        guard let array = value.array else {
            throw ConfigurationError.invalidValue(path: path, key: "\(name).\(key)", expected: expected)
        }
        var result: [ConfigurationSection] = []
        for (index, element) in array.enumerated() {
            guard let sub = element.table else {
                throw ConfigurationError.invalidValue(path: path, key: "\(name).\(key)", expected: expected)
            }
            result.append(ConfigurationSection(name: "\(name).\(key)[\(index)]", path: path, table: sub))
        }
        return result
    }

    /// An error about `key` of this section (for checks across keys the typed readers cannot make).
    package func invalid(_ key: String, expected: String) -> ConfigurationError {
        .invalidValue(path: path, key: "\(name).\(key)", expected: expected)
    }

    /// A conflict error about `key` of this section.
    package func conflict(_ key: String, reason: String) -> ConfigurationError {
        .conflict(path: path, key: "\(name).\(key)", reason: reason)
    }

    /// A string key that must be one of an enum's raw values.
    package func choice<T: RawRepresentable & CaseIterable>(_ key: String, default defaultValue: T) throws -> T
    where T.RawValue == String {
        guard let value = table?[key] else { return defaultValue }
        guard let s = value.string, let v = T(rawValue: s) else {
            let names = T.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
            throw ConfigurationError.invalidValue(path: path, key: "\(name).\(key)", expected: "one of \(names)")
        }
        return v
    }
}
