import Foundation

/// A CTranslate2 Whisper model directory: `model.bin` (weights), `config.json` (suppression
/// lists) and `vocabulary.txt` or `vocabulary.json` (tokens).
public final class WhisperModel: Sendable {
    /// The directory, as given.
    public let directory: String
    /// Every weight as float32.
    public let weights: WhisperWeights
    /// Token ids suppressed at every step (`suppress_ids`).
    public let suppressIds: [Int]
    /// Token ids suppressed at the first step (`suppress_ids_begin`).
    public let suppressIdsAtBegin: [Int]
    /// Path of the vocabulary file.
    public let vocabularyPath: String
    /// The vocabulary, for turning token ids back into text.
    public let tokenizer: WhisperTokenizer

    /// Whether the model transcribes English only (its vocabulary has no language tokens).
    public var isEnglishOnly: Bool { weights.dimensions.vocabularySize == 51864 }

    /// Loads and validates the directory.
    public init(directory: String) throws {
        self.directory = directory
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw WhisperModelError.unreadable(path: directory, reason: "no such directory")
        }
        let base = URL(fileURLWithPath: directory)
        let configPath = base.appendingPathComponent("config.json").path
        guard let configData = fm.contents(atPath: configPath) else {
            throw WhisperModelError.unreadable(path: configPath, reason: "missing or unreadable")
        }
        guard let config = try? JSONSerialization.jsonObject(with: configData) as? [String: Any] else {
            throw WhisperModelError.badConfig(path: configPath, reason: "not a JSON object")
        }
        func ids(_ key: String) throws -> [Int] {
            guard let value = config[key] else { return [] }
            guard let list = value as? [Any], let ints = list.map({ $0 as? Int }) as? [Int] else {
                throw WhisperModelError.badConfig(path: configPath, reason: "`\(key)` must be a list of token ids")
            }
            return ints
        }
        suppressIds = try ids("suppress_ids")
        suppressIdsAtBegin = try ids("suppress_ids_begin")
        let candidates = ["vocabulary.txt", "vocabulary.json"].map { base.appendingPathComponent($0).path }
        guard let vocabulary = candidates.first(where: { fm.isReadableFile(atPath: $0) }) else {
            throw WhisperModelError.unreadable(path: candidates[0], reason: "missing (vocabulary.json is accepted too)")
        }
        vocabularyPath = vocabulary
        tokenizer = try WhisperTokenizer(contentsOf: vocabulary)
        let file = try ModelFile(path: base.appendingPathComponent("model.bin").path)
        weights = try WhisperWeights.load(from: file)
        guard weights.dimensions.vocabularySize == 51864 else {
            throw WhisperModelError.unsupportedArchitecture(
                path: file.path, reason: "a multilingual vocabulary of \(weights.dimensions.vocabularySize) tokens (copilot decodes English-only models)")
        }
        guard tokenizer.count == weights.dimensions.vocabularySize else {
            throw WhisperModelError.badConfig(
                path: vocabulary, reason: "\(tokenizer.count) tokens for a model of \(weights.dimensions.vocabularySize)")
        }
        for id in suppressIds + suppressIdsAtBegin where id < 0 || id >= weights.dimensions.vocabularySize {
            throw WhisperModelError.badConfig(path: configPath, reason: "token id \(id) is outside the vocabulary")
        }
    }

    /// Checks a requested language against the model: English-only models accept `en` (or
    /// `english`) only.
    public func checkLanguage(_ language: String?) throws {
        guard let language else { return }
        let code = language.lowercased()
        if isEnglishOnly && code != "en" && code != "english" {
            throw WhisperModelError.unsupportedLanguage(language: language, model: directory, supported: "English only")
        }
    }

    /// Where the default model is installed, in search order after `--model` and the
    /// configuration: `$COPILOT_MODEL_DIR`, `models/tiny.en` in the repository the executable
    /// was built in (found by walking up from the executable), `share/copilot/models/tiny.en`
    /// beside the executable's `bin` (where `make install PREFIX=...` puts it), then
    /// `/usr/local/share/copilot/models/tiny.en`.
    public static func defaultLocations(environment: [String: String], executablePath: String) -> [String] {
        var locations: [String] = []
        if let env = environment["COPILOT_MODEL_DIR"], !env.isEmpty { locations.append(env) }
        let binDirectory = URL(fileURLWithPath: executablePath).resolvingSymlinksInPath().deletingLastPathComponent()
        var dir = binDirectory
        for _ in 0..<5 {
            let candidate = dir.appendingPathComponent("models/tiny.en").path
            if FileManager.default.fileExists(atPath: candidate + "/model.bin") {
                locations.append(candidate)
                break
            }
            dir = dir.deletingLastPathComponent()
        }
        let installed = binDirectory.deletingLastPathComponent().appendingPathComponent("share/copilot/models/tiny.en").standardizedFileURL.path
        for path in [installed, "/usr/local/share/copilot/models/tiny.en"] where !locations.contains(path) {
            locations.append(path)
        }
        return locations
    }

    /// The model directory to use: `explicit` (`--model`) or `configured` (`[transcribe] model`)
    /// as given, else the first default location holding a `model.bin`.
    public static func locate(
        explicit: String?, configured: String?, environment: [String: String] = ProcessInfo.processInfo.environment,
        executablePath: String? = nil
    ) throws -> String {
        if let explicit, !explicit.isEmpty { return explicit }
        if let configured, !configured.isEmpty { return configured }
        // A directory the user named must be there: never skipped for another model silently.
        if let env = environment["COPILOT_MODEL_DIR"], !env.isEmpty, !FileManager.default.fileExists(atPath: env + "/model.bin") {
            throw WhisperModelError.environmentDirectoryMissing(path: env)
        }
        // This process's binary (argv[0] when /proc is not mounted) unless told otherwise.
        let executable = executablePath
            ?? (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments.first ?? ""
        let locations = defaultLocations(environment: environment, executablePath: executable)
        if let found = locations.first(where: { FileManager.default.fileExists(atPath: $0 + "/model.bin") }) {
            return found
        }
        throw WhisperModelError.notFound(searched: ["--model", "[transcribe] model"] + locations)
    }
}
