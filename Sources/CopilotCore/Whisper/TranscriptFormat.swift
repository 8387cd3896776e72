import Foundation

/// Output formats of `copilot transcribe`.
public enum TranscriptFormat: String, CaseIterable, Sendable {
    /// The plain transcript, one segment per line.
    case txt
    /// SubRip subtitles.
    case srt
    /// WebVTT subtitles.
    case vtt
    /// A JSON object with the segments (start, end, text, avg_logprob, no_speech_prob, tokens,
    /// and with word timestamps their words: start, end, word, probability).
    case json
    /// One JSON object per line and event, `{"type": "final", "utterance", "start", "end",
    /// "text"}` (the live transcript's events; offline, each segment is a final).
    case jsonl
}

/// Renders segments in a ``TranscriptFormat``, piece by piece so segments can be written as
/// they are decoded.
public struct TranscriptRenderer: Sendable {
    public let format: TranscriptFormat

    /// A renderer for `format`.
    public init(format: TranscriptFormat) {
        self.format = format
    }

    /// Text before the first segment.
    public var header: String {
        switch format {
        case .txt, .srt, .jsonl: ""
        case .vtt: "WEBVTT\n\n"
        case .json: "{\"segments\": ["
        }
    }

    /// One segment (`first`: no separator before it in JSON).
    public func render(_ segment: WhisperSegment, first: Bool) -> String {
        let text = segment.text.trimmingWhitespace()
        switch format {
        case .txt:
            return text + "\n"
        case .jsonl:
            return LiveTranscriptEvent(kind: .final, utterance: segment.id, start: segment.start, end: segment.end, text: text).jsonLine
        case .srt:
            return "\(segment.id + 1)\n\(Self.clock(segment.start, comma: true)) --> \(Self.clock(segment.end, comma: true))\n\(text)\n\n"
        case .vtt:
            return "\(Self.clock(segment.start, comma: false)) --> \(Self.clock(segment.end, comma: false))\n\(text)\n\n"
        case .json:
            let tokens = segment.tokens.map(String.init).joined(separator: ", ")
            let fields = [
                "\"id\": \(segment.id)",
                "\"start\": \(Self.number(segment.start))",
                "\"end\": \(Self.number(segment.end))",
                "\"text\": \(JSONText.quote(segment.text))",
                "\"avg_logprob\": \(Self.number(segment.avgLogProb))",
                "\"no_speech_prob\": \(Self.number(segment.noSpeechProb))",
                "\"temperature\": \(Self.number(segment.temperature))",
                "\"compression_ratio\": \(Self.number(segment.compressionRatio))",
                "\"tokens\": [\(tokens)]",
            ] + (segment.words.map { ["\"words\": [" + $0.map(Self.json).joined(separator: ", ") + "]"] } ?? [])
            let body = fields.joined(separator: ", ")
            return (first ? "\n  {" : ",\n  {") + body + "}"
        }
    }

    /// One word as a JSON object, faster-whisper's `Word` fields in its order.
    static func json(_ word: WhisperWord) -> String {
        "{\"start\": \(number(word.start)), \"end\": \(number(word.end)), \"word\": \(JSONText.quote(word.word)), "
            + "\"probability\": \(number(word.probability))}"
    }

    /// One cue re-cut from words (srt and vtt; `number` counts cues from 1); empty for the
    /// other formats.
    public func render(_ cue: SubtitleCue, number: Int) -> String {
        switch format {
        case .srt:
            "\(number)\n\(Self.clock(cue.start, comma: true)) --> \(Self.clock(cue.end, comma: true))\n\(cue.text)\n\n"
        case .vtt:
            "\(Self.clock(cue.start, comma: false)) --> \(Self.clock(cue.end, comma: false))\n\(cue.text)\n\n"
        case .txt, .json, .jsonl:
            ""
        }
    }

    /// Text after the last segment.
    public func footer(segmentCount: Int) -> String {
        format == .json ? (segmentCount > 0 ? "\n]}\n" : "]}\n") : ""
    }

    /// `HH:MM:SS,mmm` (SRT) or `HH:MM:SS.mmm` (VTT).
    static func clock(_ seconds: Double, comma: Bool) -> String {
        let totalMs = Int((max(0, seconds) * 1000).rounded())
        let ms = totalMs % 1000, s = totalMs / 1000 % 60, m = totalMs / 60_000 % 60, h = totalMs / 3_600_000
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let milli = ms < 10 ? "00\(ms)" : ms < 100 ? "0\(ms)" : "\(ms)"
        return "\(two(h)):\(two(m)):\(two(s))\(comma ? "," : ".")\(milli)"
    }

    /// A finite JSON number with up to 3 (times) or 6 decimals, shortest form.
    static func number(_ value: Double) -> String {
        guard value.isFinite else { return "null" }
        let rounded = (value * 1_000_000).rounded() / 1_000_000
        if rounded == rounded.rounded() && abs(rounded) < 1e15 { return String(Int(rounded)) + ".0" }
        return String(rounded)
    }
}

/// Errors writing a transcript file.
public enum TranscriptFileError: Error, LocalizedError, Equatable {
    /// The file could not be written (directory missing, no permission, disk full).
    case unwritable(path: String, reason: String)

    public var errorDescription: String? {
        switch self {
        case .unwritable(let path, let reason):
            "cannot write transcript to \(path): \(reason); check that the directory exists and is writable"
        }
    }
}

/// Writes a finished transcript through ``AtomicFile``, so readers never see half a transcript.
public enum TranscriptFile {
    /// Writes `text` (UTF-8) to `path`.
    public static func write(_ text: String, to path: String) throws {
        do {
            try AtomicFile.write(text.utf8, to: path)
        } catch OutputError.writeFailed(_, let reason) {
            throw TranscriptFileError.unwritable(path: path, reason: reason)
        }
    }
}
