import Foundation

/// Errors reading a Whisper vocabulary file.
public enum WhisperVocabularyError: Error, LocalizedError, Equatable {
    /// The file could not be read (missing, unreadable); the reason from the system.
    case unreadable(path: String, reason: String)
    /// The file is not a vocabulary: not UTF-8, empty, or a JSON file that is not an array of
    /// strings.
    case malformed(path: String, reason: String)
    /// A special token the decoder needs is absent, e.g. `<|endoftext|>`.
    case missingSpecialToken(path: String, token: String)

    public var errorDescription: String? {
        switch self {
        case .unreadable(let path, let reason):
            "cannot read vocabulary \(path): \(reason); pass --model with a CTranslate2 Whisper directory (run `make model`)"
        case .malformed(let path, let reason):
            "vocabulary \(path) is not a Whisper vocabulary (\(reason)); re-download the model with `make model`"
        case .missingSpecialToken(let path, let token):
            "vocabulary \(path) has no \(token) token; it is not a Whisper vocabulary, re-download the model with `make model`"
        }
    }
}

/// The ids of Whisper's special tokens.
package struct WhisperSpecialTokens: Sendable, Equatable {
    /// `<|endoftext|>`; every id from here up is a special token (never text).
    package var endOfText: Int
    /// `<|startoftranscript|>`.
    package var startOfTranscript: Int
    /// `<|translate|>`.
    package var translate: Int
    /// `<|transcribe|>`.
    package var transcribe: Int
    /// `<|startoflm|>`.
    package var startOfLM: Int
    /// `<|startofprev|>`: introduces the previous window's text in the prompt.
    package var startOfPrevious: Int
    /// `<|nospeech|>` (spelled `<|nocaptions|>` in some vocabularies).
    package var noSpeech: Int
    /// `<|notimestamps|>`.
    package var noTimestamps: Int
    /// `<|0.00|>`: timestamp ids run from here in 0.02 s steps.
    package var timestampBegin: Int

    /// The English-only models' ids (tiny.en, base.en, ...).
    package static let englishOnly = WhisperSpecialTokens(
        endOfText: 50256, startOfTranscript: 50257, translate: 50357, transcribe: 50358,
        startOfLM: 50359, startOfPrevious: 50360, noSpeech: 50361, noTimestamps: 50362,
        timestampBegin: 50363)

    /// Seconds between consecutive timestamp tokens.
    package static let timestampStepSeconds = 0.02

    /// Whether `id` is a timestamp token.
    package func isTimestamp(_ id: Int) -> Bool { id >= timestampBegin }

    /// The time a timestamp token stands for, in seconds; nil for other ids.
    package func seconds(ofTimestamp id: Int) -> Double? {
        isTimestamp(id) ? Double(id - timestampBegin) * Self.timestampStepSeconds : nil
    }
}

/// Whisper's byte-level BPE vocabulary: token strings by id, decoded back to UTF-8 text.
///
/// Loaded from CTranslate2's `vocabulary.txt` (one token per line, line n = id n - 1) or
/// `vocabulary.json` (an array of strings). Decoding drops special ids, maps every character
/// of the joined token strings back to its byte through GPT-2's byte-to-unicode table, and
/// decodes the whole byte run as UTF-8 (a character may span tokens; invalid bytes become
/// U+FFFD). Encoding text is not needed: prompts reuse already decoded ids.
package struct WhisperTokenizer: Sendable {
    /// Token strings as stored in the vocabulary (GPT-2's printable byte encoding).
    package let tokens: [String]
    /// The special token ids, found by name in the vocabulary.
    package let special: WhisperSpecialTokens
    /// The bytes of each token, back to back; token `id` is `bytes[byteOffsets[id] ..< byteOffsets[id + 1]]`.
    private let bytes: [UInt8]
    private let byteOffsets: [Int]

    /// Loads `path`: `.json` files as a JSON array, anything else as one token per line.
    package init(contentsOf path: String) throws {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw WhisperVocabularyError.unreadable(path: path, reason: (error as NSError).localizedDescription)
        }
        let tokens: [String]
        if path.hasSuffix(".json") {
            guard let array = try? JSONSerialization.jsonObject(with: data) as? [Any],
                let strings = array as? [String]
            else {
                throw WhisperVocabularyError.malformed(path: path, reason: "expected a JSON array of strings")
            }
            tokens = strings
        } else {
            guard let text = String(data: data, encoding: .utf8) else {
                throw WhisperVocabularyError.malformed(path: path, reason: "not UTF-8 text")
            }
            var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            if lines.last == "" { lines.removeLast() }
            tokens = lines.map { $0.hasSuffix("\r") ? String($0.dropLast()) : $0 }
        }
        try self.init(tokens: tokens, source: path)
    }

    /// Builds a tokenizer from token strings (index = id); `source` names them in errors.
    package init(tokens: [String], source: String = "vocabulary") throws {
        guard !tokens.isEmpty else {
            throw WhisperVocabularyError.malformed(path: source, reason: "no tokens")
        }
        var index: [String: Int] = [:]
        for (id, token) in tokens.enumerated() where token.hasPrefix("<|") && index[token] == nil {
            index[token] = id
        }
        func find(_ names: String...) throws -> Int {
            for name in names { if let id = index[name] { return id } }
            throw WhisperVocabularyError.missingSpecialToken(path: source, token: names[0])
        }
        special = WhisperSpecialTokens(
            endOfText: try find("<|endoftext|>"),
            startOfTranscript: try find("<|startoftranscript|>"),
            translate: try find("<|translate|>"),
            transcribe: try find("<|transcribe|>"),
            startOfLM: try find("<|startoflm|>"),
            startOfPrevious: try find("<|startofprev|>"),
            noSpeech: try find("<|nospeech|>", "<|nocaptions|>"),
            noTimestamps: try find("<|notimestamps|>"),
            timestampBegin: try find("<|0.00|>"))
        self.tokens = tokens
        var bytes: [UInt8] = []
        var offsets = [0]
        bytes.reserveCapacity(tokens.count * 6)
        for token in tokens {
            for scalar in token.unicodeScalars {
                if let byte = GPT2ByteTable.byte(for: scalar) {
                    bytes.append(byte)
                } else {
                    // Not in the table (never in a real vocabulary): keep the character itself.
                    bytes.append(contentsOf: Array(String(scalar).utf8))
                }
            }
            offsets.append(bytes.count)
        }
        self.bytes = bytes
        self.byteOffsets = offsets
    }

    /// Number of tokens.
    package var count: Int { tokens.count }

    /// The id of a token string as stored (e.g. `"ĠHello"` for " Hello"), if present.
    /// - Complexity: O(n); meant for tests and tools, not decoding loops.
    package func id(of token: String) -> Int? {
        tokens.firstIndex(of: token)
    }

    /// The UTF-8 bytes of the text tokens among `ids`, in order. Special ids (>= endOfText)
    /// and ids outside the vocabulary are dropped.
    package func bytes<S: Sequence<Int>>(of ids: S) -> [UInt8] {
        var out: [UInt8] = []
        for id in ids where id >= 0 && id < special.endOfText && id < tokens.count {
            out.append(contentsOf: bytes[byteOffsets[id]..<byteOffsets[id + 1]])
        }
        return out
    }

    /// The text of `ids`: text tokens joined as bytes and decoded as UTF-8, invalid sequences
    /// replaced by U+FFFD.
    package func decode<S: Sequence<Int>>(_ ids: S) -> String {
        String(decoding: bytes(of: ids), as: UTF8.self)
    }
}

/// GPT-2's byte-to-unicode table: the printable bytes `!`...`~`, `¡`...`¬`, `®`...`ÿ` stand for
/// themselves; the other 68 bytes, in order, for U+0100 onwards (so space is U+0120 `Ġ`).
enum GPT2ByteTable {
    /// Byte of each scalar value below 0x144 (the table's range), or -1.
    private static let byteOfScalar: [Int16] = {
        var table = [Int16](repeating: -1, count: 0x144)
        var next = 0x100
        for byte in 0..<256 {
            let printable = (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte)
            if printable {
                table[byte] = Int16(byte)
            } else {
                table[next] = Int16(byte)
                next += 1
            }
        }
        return table
    }()

    /// The byte `scalar` stands for, or nil when it is outside the table.
    static func byte(for scalar: Unicode.Scalar) -> UInt8? {
        let value = Int(scalar.value)
        guard value < byteOfScalar.count, byteOfScalar[value] >= 0 else { return nil }
        return UInt8(byteOfScalar[value])
    }
}
