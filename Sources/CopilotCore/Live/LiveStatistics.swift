/// What one live run did, for `--stats`.
public struct LiveStatistics: Sendable, Equatable {
    /// Seconds of input audio read.
    public var inputSeconds = 0.0
    /// Finals printed.
    public var finals = 0
    /// Partials printed.
    public var partials = 0
    /// Partials dropped because decoding was behind (replaced by a newer one, voided by their
    /// final, or left at the end).
    public var skippedPartials = 0
    /// Speculative decodes run at the start of a silence.
    public var speculations = 0
    /// Speculative decodes that became the final (the silence lasted).
    public var speculationsUsed = 0
    /// Partials dropped while being decoded, because a final or a speculation arrived.
    public var abandonedPartials = 0
    /// Partials a speculation waited for, because they were about to finish in time (see
    /// ``LiveTranscriptionOptions/partialFinishSlackMs``).
    public var partialsFinishedBeforeSpeculation = 0
    /// Speculative decodes dropped while running, because speech resumed.
    public var abandonedSpeculations = 0
    /// Per speculative decode: wall-clock seconds since the start minus the end of its speech
    /// in the input, when the worker began it (with paced input: the VAD's decision time plus
    /// the post-roll plus the wait for the worker).
    public var speculationStartLagSeconds: [Double] = []
    /// Finals not printed because their text was faster than speech (see
    /// ``SpeakingRate``).
    public var implausible = 0
    /// Finals not printed because they were several voices at once (see ``Voicing``).
    public var babble = 0
    /// Utterances cut because they reached the maximum length.
    public var forcedCuts = 0
    /// Most finals that waited for the worker at once.
    public var peakPendingFinals = 0
    /// Seconds the worker spent decoding.
    public var decodeSeconds = 0.0
    /// The longest decode of a final (or its speculation), in seconds.
    public var slowestFinalDecodeSeconds = 0.0
    /// Per final: wall-clock seconds since the start minus the end of its audio in the input
    /// (meaningful when the input arrives in real time: then it is the delay from the end of
    /// the utterance's audio to its line).
    public var finalLagSeconds: [Double] = []
    /// Most audio the reader's ring held, in ms.
    public var ringPeakMs = 0
    /// The ring's capacity, in ms.
    public var ringCapacityMs = 0
    /// Samples lost: ring overruns (none under the block policy) plus capture overruns.
    public var overruns = 0
    /// The input arrived in real time (`--pace realtime`, a pipe or a device), so lag counts.
    public var paced = false

    /// Empty statistics (the pipeline fills them in).
    public init() {}

    /// The statistics as a few lines for stderr.
    public var report: String {
        var lines = [
            "live: \(Self.fixed(inputSeconds, 1)) s of audio, \(finals) finals, \(partials) partials (\(skippedPartials) skipped, \(abandonedPartials) abandoned while decoding, \(partialsFinishedBeforeSpeculation) finished before a speculation), \(forcedCuts) forced cuts, \(implausible) too fast to be speech, \(babble) several voices at once",
            "live: decoding \(Self.fixed(decodeSeconds, 2)) s (\(Self.fixed(inputSeconds > 0 ? decodeSeconds / inputSeconds : 0, 3))x real time), slowest final \(Self.ms(slowestFinalDecodeSeconds)) ms, speculative decodes \(speculationsUsed)/\(speculations) used, finals waiting at most \(peakPendingFinals)",
            "live: ring peak \(ringPeakMs) of \(ringCapacityMs) ms, overruns \(overruns)",
        ]
        if paced, !finalLagSeconds.isEmpty {
            let sorted = finalLagSeconds.sorted()
            lines.append(
                "live: lag from end of audio to final p50 \(Self.ms(Self.percentile(sorted, 0.5))) ms, p99 \(Self.ms(Self.percentile(sorted, 0.99))) ms, max \(Self.ms(sorted[sorted.count - 1])) ms")
            if !speculationStartLagSeconds.isEmpty {
                let started = speculationStartLagSeconds.sorted()
                lines.append(
                    "live: speculative decodes started p50 \(Self.ms(Self.percentile(started, 0.5))) ms, max \(Self.ms(started[started.count - 1])) ms after the end of speech (\(abandonedSpeculations) abandoned)")
            }
        } else if paced {
            lines.append("live: lag not measured (no finals)")
        } else {
            lines.append("live: lag not measured (the input was read faster than real time; use --pace realtime)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The `q` quantile (0...1) of sorted values, nearest rank.
    static func percentile(_ sorted: [Double], _ q: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        let rank = Int((q * Double(sorted.count)).rounded(.up)) - 1
        return sorted[min(max(rank, 0), sorted.count - 1)]
    }

    static func ms(_ seconds: Double) -> String { String(Int((seconds * 1000).rounded())) }

    static func fixed(_ value: Double, _ decimals: Int) -> String {
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let rounded = (value * scale).rounded() / scale
        return String(rounded)
    }
}
