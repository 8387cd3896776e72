import Foundation

/// One line of a live transcript: a hypothesis of an utterance still going on, or its final
/// text, which is never revised.
public struct LiveTranscriptEvent: Sendable, Equatable {
    /// Partial or final.
    public enum Kind: String, Sendable, Equatable {
        /// A hypothesis of the utterance so far; a later event of the same utterance replaces it.
        case partial
        /// The committed text of the whole utterance.
        case final
    }

    /// Partial or final.
    public var kind: Kind
    /// Number of the utterance in the output, from 0, without gaps.
    public var utterance: Int
    /// Start of the speech, in seconds of input audio.
    public var start: Double
    /// End of the audio transcribed, in seconds of input audio.
    public var end: Double
    /// The text, trimmed (empty only for the final of an utterance whose partials showed text
    /// that the full decode found to be no speech).
    public var text: String

    /// Creates an event.
    public init(kind: Kind, utterance: Int, start: Double, end: Double, text: String) {
        self.kind = kind
        self.utterance = utterance
        self.start = start
        self.end = end
        self.text = text
    }

    /// The event as one JSON object on one line, newline included:
    /// `{"type":"final","utterance":0,"start":0.51,"end":2.34,"text":"..."}`.
    public var jsonLine: String {
        "{\"type\":\"\(kind.rawValue)\",\"utterance\":\(utterance),\"start\":\(Self.seconds(start)),\"end\":\(Self.seconds(end)),\"text\":\(JSONText.quote(text))}\n"
    }

    /// Seconds with millisecond precision, shortest form (`1.5`, `0.03`, `2`).
    static func seconds(_ value: Double) -> String {
        let ms = Int((max(0, value) * 1000).rounded())
        if ms % 1000 == 0 { return String(ms / 1000) }
        var fraction = String(ms % 1000)
        fraction = String(repeating: "0", count: 3 - fraction.count) + fraction
        while fraction.hasSuffix("0") { fraction.removeLast() }
        return "\(ms / 1000).\(fraction)"
    }
}

/// Renders live events in a ``TranscriptFormat`` as each one arrives: `txt` one line per
/// final, `jsonl` one JSON object per event (partials included), `srt` and `vtt` one cue per
/// final (`vtt` after its `WEBVTT` header). `json` (one document) cannot stream and is refused
/// by the command. One owner (it counts cues).
public final class LiveTranscriptRenderer {
    /// The output format.
    public let format: TranscriptFormat
    private var cues = 0

    /// A renderer for `format`.
    public init(format: TranscriptFormat) {
        self.format = format
    }

    /// Text before the first event.
    public var header: String { format == .vtt ? "WEBVTT\n\n" : "" }

    /// The text `event` adds to stdout (empty for a partial outside `jsonl`, and for an empty
    /// final outside `jsonl`).
    public func render(_ event: LiveTranscriptEvent) -> String {
        switch format {
        case .jsonl:
            return event.jsonLine
        case .json:
            return ""
        case .txt, .srt, .vtt:
            guard event.kind == .final, !event.text.isEmpty else { return "" }
            cues += 1
            let segment = WhisperSegment(
                id: cues - 1, start: event.start, end: event.end, text: event.text, tokens: [], avgLogProb: 0,
                noSpeechProb: 0, temperature: 0, compressionRatio: 0)
            return TranscriptRenderer(format: format).render(segment, first: cues == 1)
        }
    }
}

extension LiveTranscriptRenderer {
    /// A partial's text for the one status line on a terminal: its last `width` characters
    /// (the start elided), so the line never wraps and can be redrawn in place.
    public static func statusLine(_ event: LiveTranscriptEvent, width: Int = 79) -> String {
        let text = event.text
        guard text.count > width, width > 1 else { return text }
        return "…" + String(text.suffix(width - 1))
    }
}
