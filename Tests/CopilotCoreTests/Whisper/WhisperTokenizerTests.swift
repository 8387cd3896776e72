import CopilotCore
import Foundation
import Testing

@Suite struct WhisperTokenizerTests {
    /// A tiny vocabulary: text tokens 0...5, then the specials, then three timestamps.
    static let tinyTokens = [
        "Hello", "Ġworld", "Ã", "©", "!", "ĊĠ",
        "<|endoftext|>", "<|startoftranscript|>", "<|translate|>", "<|transcribe|>",
        "<|startoflm|>", "<|startofprev|>", "<|nocaptions|>", "<|notimestamps|>",
        "<|0.00|>", "<|0.02|>", "<|0.04|>",
    ]

    static func writeTemporary(_ text: String, suffix: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("vocab-\(UUID())\(suffix)").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func decodesBytesAcrossTokens() throws {
        let tokenizer = try WhisperTokenizer(tokens: Self.tinyTokens)
        #expect(tokenizer.decode([0, 1, 4]) == "Hello world!")
        // "é" is C3 A9: one character split over two tokens.
        #expect(tokenizer.decode([0, 2, 3]) == "Helloé")
        #expect(tokenizer.decode([5]) == "\n ")
        // Special and out-of-range ids are dropped.
        #expect(tokenizer.decode([7, 14, 0, 6, 1, 15, 99, -1]) == "Hello world")
    }

    @Test func invalidUTF8IsReplacedNotFatal() throws {
        let tokenizer = try WhisperTokenizer(tokens: Self.tinyTokens)
        #expect(tokenizer.decode([2, 0]) == "\u{FFFD}Hello")
        #expect(tokenizer.decode([3]) == "\u{FFFD}")
        #expect(tokenizer.decode([Int]()) == "")
    }

    @Test func findsSpecialTokensByName() throws {
        let tokenizer = try WhisperTokenizer(tokens: Self.tinyTokens)
        #expect(tokenizer.special.endOfText == 6)
        #expect(tokenizer.special.noSpeech == 12)
        #expect(tokenizer.special.timestampBegin == 14)
        #expect(tokenizer.special.seconds(ofTimestamp: 16) == 0.04)
        #expect(tokenizer.special.seconds(ofTimestamp: 13) == nil)
    }

    @Test func loadsTextAndJSONFiles() throws {
        let textPath = try Self.writeTemporary(Self.tinyTokens.joined(separator: "\n") + "\n", suffix: ".txt")
        defer { try? FileManager.default.removeItem(atPath: textPath) }
        let fromText = try WhisperTokenizer(contentsOf: textPath)
        #expect(fromText.count == Self.tinyTokens.count)
        #expect(fromText.decode([0, 1]) == "Hello world")

        let json = String(decoding: try JSONSerialization.data(withJSONObject: Self.tinyTokens), as: UTF8.self)
        let jsonPath = try Self.writeTemporary(json, suffix: ".json")
        defer { try? FileManager.default.removeItem(atPath: jsonPath) }
        #expect(try WhisperTokenizer(contentsOf: jsonPath).tokens == Self.tinyTokens)
    }

    @Test func badFilesGiveNamedErrors() throws {
        #expect(throws: WhisperVocabularyError.self) { try WhisperTokenizer(contentsOf: "/nonexistent/vocabulary.txt") }
        let noSpecials = try Self.writeTemporary("a\nb\n", suffix: ".txt")
        defer { try? FileManager.default.removeItem(atPath: noSpecials) }
        #expect(throws: WhisperVocabularyError.missingSpecialToken(path: noSpecials, token: "<|endoftext|>")) {
            try WhisperTokenizer(contentsOf: noSpecials)
        }
        let notArray = try Self.writeTemporary("{\"a\": 1}", suffix: ".json")
        defer { try? FileManager.default.removeItem(atPath: notArray) }
        #expect(throws: WhisperVocabularyError.self) { try WhisperTokenizer(contentsOf: notArray) }
        #expect(throws: WhisperVocabularyError.self) { try WhisperTokenizer(tokens: []) }
    }

    /// The real tiny.en vocabulary, when `make model` has fetched it.
    static let modelVocabulary: String? = {
        var dir = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { dir.deleteLastPathComponent() }
        let path = dir.appendingPathComponent("models/tiny.en/vocabulary.txt").path
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }()

    @Test(.enabled(if: modelVocabulary != nil, "run `make model` to fetch tiny.en"))
    func realVocabularyDecodesKnownIds() throws {
        let tokenizer = try WhisperTokenizer(contentsOf: try #require(Self.modelVocabulary))
        #expect(tokenizer.count == 51864)
        #expect(tokenizer.special == .englishOnly)
        #expect(tokenizer.id(of: "ĠHello") == 18435)
        #expect(tokenizer.decode([18435, 995]) == " Hello world")
        #expect(tokenizer.decode([15496, 11, 995, 0]) == "Hello, world!")
        #expect(tokenizer.decode([50257, 50363, 18435, 50256]) == " Hello")
    }
}
