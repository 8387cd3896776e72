import Foundation

/// Everything that can go wrong reading answers or computing a consensus.
public enum ConsensusError: Error, LocalizedError, Equatable {
    /// The input file cannot be read.
    case unreadable(source: String, reason: String)
    /// No input file was given and stdin is a terminal (nothing piped in).
    case stdinIsTerminal
    /// The input holds no answers at all (empty file, blank lines only, or `[]`).
    case noAnswers(source: String)
    /// The input is not valid UTF-8; `line` is where the first bad byte sits.
    case notUTF8(source: String, line: Int)
    /// The input is not valid JSON (or not one object per line in JSON Lines).
    case malformedJSON(source: String, line: Int, reason: String)
    /// A field of one answer has the wrong type or an out-of-range value.
    case invalidField(source: String, line: Int, expert: String?, field: String, reason: String)
    /// Every answer's text is empty (no words), so there is nothing to compare.
    case noUsableAnswers
    /// Every usable answer has weight x confidence = 0, so no vote can be counted.
    case zeroTotalWeight

    public var errorDescription: String? {
        switch self {
        case .unreadable(let source, let reason):
            "cannot read answers from \(source): \(reason); pass an existing file or `-` for stdin"
        case .stdinIsTerminal:
            "no answers given: pass a JSON Lines or JSON file, or pipe answers to stdin"
        case .noAnswers(let source):
            "\(source) holds no answers; give one JSON object per line or a JSON array of {\"expert\", \"text\"} objects"
        case .notUTF8(let source, let line):
            "\(source) line \(line): text is not valid UTF-8; re-encode the file as UTF-8 (e.g. iconv -f latin1 -t utf-8)"
        case .malformedJSON(let source, let line, let reason):
            "\(source) line \(line): malformed JSON: \(reason)"
        case .invalidField(let source, let line, let expert, let field, let reason):
            "\(source) line \(line)\(expert.map { " (expert \"\($0)\")" } ?? ""): `\(field)` \(reason)"
        case .noUsableAnswers:
            "every answer has an empty text (no words); give at least one answer with words in `text`"
        case .zeroTotalWeight:
            "every answer has weight x confidence 0; give at least one answer a positive weight and confidence"
        }
    }
}
