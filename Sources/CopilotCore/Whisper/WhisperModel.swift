import Foundation

/// A CTranslate2 Whisper model directory: `model.bin` (weights), `config.json` (suppression
/// lists) and `vocabulary.txt` or `vocabulary.json` (tokens).
public final class WhisperModel: Sendable {
    /// The directory, as given.
    public let directory: String
    /// Every weight as float32.
    package let weights: WhisperWeights
    /// Token ids suppressed at every step (`suppress_ids`).
    package var suppressIds: [Int] { configuration.suppressIds }
    /// Token ids suppressed at the first step (`suppress_ids_begin`).
    package var suppressIdsAtBegin: [Int] { configuration.suppressIdsAtBegin }
    /// `config.json`'s alignment heads; nil when it has none (word timestamps need them).
    package var alignmentHeads: [WhisperAlignmentHead]? { configuration.alignmentHeads }
    /// What `config.json` (and `preprocessor_config.json`) say, checked against the weights.
    package let configuration: WhisperModelConfiguration
    /// Path of the vocabulary file.
    package let vocabularyPath: String
    /// The vocabulary, for turning token ids back into text.
    package let tokenizer: WhisperTokenizer

    /// Throws ``WhisperModelError/noAlignmentHeads(path:)`` unless `config.json` lists
    /// alignment heads (word timestamps need them).
    package func checkAlignmentHeads() throws {
        guard alignmentHeads?.isEmpty == false else { throw WhisperModelError.noAlignmentHeads(path: configuration.path) }
    }

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
        configuration = try WhisperModelConfiguration(directory: base)
        let candidates = ["vocabulary.txt", "vocabulary.json"].map { base.appendingPathComponent($0).path }
        guard let vocabulary = candidates.first(where: { fm.isReadableFile(atPath: $0) }) else {
            throw WhisperModelError.unreadable(path: candidates[0], reason: "missing (vocabulary.json is accepted too)")
        }
        vocabularyPath = vocabulary
        tokenizer = try WhisperTokenizer(contentsOf: vocabulary)
        let file = try ModelFile(path: base.appendingPathComponent("model.bin").path)
        // Sizes first: a directory mixing two models fails before 75 MB of weights convert.
        let dimensions = try WhisperWeights.dimensions(of: file)
        try configuration.check(against: dimensions, weightsPath: file.path)
        guard dimensions.vocabularySize == 51864 else {
            throw WhisperModelError.unsupportedArchitecture(
                path: file.path, reason: "a multilingual vocabulary of \(dimensions.vocabularySize) tokens (copilot decodes English-only models)")
        }
        guard tokenizer.count == dimensions.vocabularySize else {
            throw WhisperModelError.configMismatch(
                path: vocabulary, key: vocabulary.hasSuffix(".json") ? "array entries" : "one per line", value: tokenizer.count, weightsPath: file.path,
                actual: dimensions.vocabularySize, what: "vocabulary tokens")
        }
        // tokenizer.json (2 MB of JSON copilot does not otherwise read) is checked on a second
        // thread while the weights convert, so the check adds nothing to the load time.
        let tokenizerCheck = BackgroundCheck { [tokenizer] in
            try WhisperModelConfiguration.checkTokenizerFile(
                base.appendingPathComponent("tokenizer.json").path, against: tokenizer, vocabularyPath: vocabulary)
        }
        weights = try WhisperWeights.load(from: file)
        try tokenizerCheck.wait()
    }

    /// Checks a requested language against the model: English-only models accept `en` (or
    /// `english`) only.
    package func checkLanguage(_ language: String?) throws {
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
    package static func defaultLocations(environment: [String: String], executablePath: String) -> [String] {
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

/// A check run on a global queue at once; ``wait()`` rethrows its error.
private final class BackgroundCheck: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    // Written by the check before `done` is signalled, read after waiting on it.
    private var failure: Error?

    init(_ check: @escaping @Sendable () throws -> Void) {
        DispatchQueue.global().async { [self] in
            do { try check() } catch { failure = error }
            done.signal()
        }
    }

    /// Waits for the check to finish and throws what it threw.
    func wait() throws {
        done.wait()
        if let failure { throw failure }
    }
}
