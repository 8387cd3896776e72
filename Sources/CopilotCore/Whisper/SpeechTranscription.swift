/// Consecutive speech regions decoded as one signal: their samples with a short silence
/// between them instead of the pause (faster-whisper's `vad_filter` leaves the pause out), at
/// most one 30 s window unless a single region is longer, so no window ever cuts a region.
package struct SpeechGroup: Equatable, Sendable {
    /// Silence put between two regions, in seconds: with the regions' own padding, a pause
    /// long enough for Whisper to end its segment there (joined back to back, tiny.en made one
    /// segment of three sentences, which then spanned both pauses).
    package static let gapSeconds = 1.0
    /// ``gapSeconds`` in samples at `sampleRate`.
    package static func gapSamples(sampleRate: Int) -> Int { Int(gapSeconds * Double(sampleRate)) }
    /// The regions, in samples of the input, in order.
    package var regions: [Range<Int>]
    /// Where each region starts in the joined signal, in samples.
    package var joinedStarts: [Int]
    /// Samples in the joined signal.
    package var joinedCount: Int

    /// A group from its parts.
    package init(regions: [Range<Int>], joinedStarts: [Int], joinedCount: Int) {
        self.regions = regions
        self.joinedStarts = joinedStarts
        self.joinedCount = joinedCount
    }

    /// `regions` cut into groups of at most `maximumSamples` joined samples each, with
    /// `gapSamples` of silence between two regions.
    package static func groups(_ regions: [Range<Int>], maximumSamples: Int, gapSamples: Int) -> [SpeechGroup] {
        var groups: [SpeechGroup] = []
        for region in regions {
            if var last = groups.last, last.joinedCount + gapSamples + region.count <= maximumSamples {
                last.regions.append(region)
                last.joinedStarts.append(last.joinedCount + gapSamples)
                last.joinedCount += gapSamples + region.count
                groups[groups.count - 1] = last
            } else {
                groups.append(SpeechGroup(regions: [region], joinedStarts: [0], joinedCount: region.count))
            }
        }
        return groups
    }

    /// The joined samples of `samples`.
    package func joined(_ samples: [Float]) -> [Float] {
        var joined = [Float](repeating: 0, count: joinedCount)
        for (region, start) in zip(regions, joinedStarts) {
            joined.replaceSubrange(start..<start + region.count, with: samples[region])
        }
        return joined
    }

    /// `segment` (times in seconds of the joined signal) placed back on the input, one
    /// segment per region it covers, so none spans the pause between two regions.
    ///
    /// The regions covered run from the first to the last it covers substantially (the one
    /// it overlaps most, and any other it covers half of), so timestamps that run a little into
    /// the next region (Whisper's end times run on to the next words) are clipped. A segment
    /// covering several regions (tiny.en can make one of three sentences, even across the
    /// gaps) has no times for its words, so its text is cut at the sentence ends (else the
    /// word starts) whose share of the characters comes nearest each region's share of the
    /// speech, and each part gets its region's times. `text` decodes tokens. Empty for a
    /// segment on no region. A segment with words is cut between its words instead
    /// (``place(_:words:sampleRate:text:)``).
    package func place(_ segment: WhisperSegment, sampleRate: Int, text: ([Int]) -> String) -> [WhisperSegment] {
        if let words = segment.words, !words.isEmpty { return place(segment, words: words, sampleRate: sampleRate, text: text) }
        let rate = Double(sampleRate)
        func lower(_ i: Int) -> Double { Double(joinedStarts[i]) / rate }
        func upper(_ i: Int) -> Double { lower(i) + Double(regions[i].count) / rate }
        var chosen: [Int] = []
        var best: (index: Int, overlap: Double)?
        for i in regions.indices {
            let overlap = min(segment.end, upper(i)) - max(segment.start, lower(i))
            guard overlap > 0 else { continue }
            if overlap * 2 >= upper(i) - lower(i) { chosen.append(i) }
            if best.map({ overlap > $0.overlap }) ?? true { best = (i, overlap) }
        }
        guard let best else { return [] }
        let first = min(chosen.first ?? best.index, best.index), last = max(chosen.last ?? best.index, best.index)
        func original(_ t: Double, _ i: Int) -> Double {
            Double(regions[i].lowerBound) / rate + (min(max(t, lower(i)), upper(i)) - lower(i))
        }
        let cuts = Self.cuts(segment.tokens, into: (first...last).map { Double(regions[$0].count) }, text: text)
        var placed: [WhisperSegment] = []
        for (part, i) in (first...last).enumerated() {
            var piece = segment
            piece.tokens = Array(segment.tokens[cuts[part]..<cuts[part + 1]])
            piece.text = text(piece.tokens)
            piece.start = original(i == first ? segment.start : lower(i), i)
            piece.end = original(i == last ? segment.end : upper(i), i)
            if !piece.text.trimmingWhitespace().isEmpty && piece.start < piece.end { placed.append(piece) }
        }
        return placed
    }

    /// Token positions cutting `tokens` into `weights.count` parts whose shares of the text's
    /// characters come nearest the cumulative shares of `weights`, at sentence ends when there
    /// are enough of them, else at word starts: `weights.count + 1` ascending positions from
    /// 0 to `tokens.count`.
    package static func cuts(_ tokens: [Int], into weights: [Double], text: ([Int]) -> String) -> [Int] {
        guard weights.count > 1 else { return [0, tokens.count] }
        let total = max(Double(text(tokens).count), 1)
        var sentenceEnds: [(position: Int, share: Double)] = []
        var wordStarts: [(position: Int, share: Double)] = []
        for position in 1..<max(tokens.count, 1) {
            let before = text(Array(tokens[..<position])), after = text(Array(tokens[position...]))
            guard !before.trimmingWhitespace().isEmpty, !after.trimmingWhitespace().isEmpty else { continue }
            let share = Double(before.count) / total
            if after.first == " " { wordStarts.append((position, share)) }
            if let end = before.trimmingWhitespace().last, ".?!".contains(end), after.first == " " {
                sentenceEnds.append((position, share))
            }
        }
        let candidates = sentenceEnds.count >= weights.count - 1 ? sentenceEnds : wordStarts
        let weightTotal = weights.reduce(0, +)
        var cuts = [0]
        var cumulative = 0.0
        for weight in weights.dropLast() {
            cumulative += weight / weightTotal
            let nearest = candidates.filter { $0.position > cuts[cuts.count - 1] }
                .min { abs($0.share - cumulative) < abs($1.share - cumulative) }
            cuts.append(nearest?.position ?? cuts[cuts.count - 1])
        }
        cuts.append(tokens.count)
        return cuts
    }

    /// The share of the joined span `start ..< end` (seconds) that `speech`'s detector heard as
    /// speech, each part measured where it lies in the input.
    package func speechFraction(start: Double, end: Double, speech: SpeechOnlyAudio) -> Double {
        guard end > start else { return 0 }
        let rate = Double(speech.sampleRate)
        var heard = 0.0
        for (i, region) in regions.enumerated() {
            let lower = Double(joinedStarts[i]) / rate, upper = lower + Double(region.count) / rate
            let from = max(start, lower), to = min(end, upper)
            guard to > from else { continue }
            let offset = Double(region.lowerBound) / rate - lower
            heard += speech.speechFraction(fromSeconds: from + offset, toSeconds: to + offset) * (to - from)
        }
        return heard / (end - start)
    }
}

extension Transcriber {
    /// Transcribes only the speech of `samples` (16 kHz mono) that `speech` found: its
    /// regions joined into groups of at most 30 s (the pauses between them left out), each
    /// group decoded as one signal, so silence and noise are never decoded and a pause never
    /// loses the speech after it; each segment is placed back on the region(s) it covers, so
    /// its times lie on the speech, inside the file, never across a pause between regions.
    ///
    /// Regions are decoded together rather than one by one because tiny.en uses the context:
    /// alone, "Let us start with the budget." came out as "... with the market" and "The numbers
    /// look better this quarter." as "... matter this water" (joined, both right); one by one
    /// also costs an encoder pass per region (padded to 30 s: 14 s for a minute of nine short
    /// sentences, against 3 s joined).
    /// `encoding` says how much of each group's window is encoded: by default the group and
    /// silence after it, as the live transcript's finals (a lone 4 s sentence after a noise
    /// padded to 30 s came out as "My runner likes ..." instead of "My brother likes ...").
    /// A segment with almost no speech behind it is dropped (``minimumSpeechFraction``); a
    /// repeat is kept at the first temperature when every copy has speech behind it
    /// (``isSpokenRepetition(_:timeOffset:segmentFrames:speechFraction:)``). With
    /// `conditionOnPreviousText`, each group is prompted with the text before it, unless the
    /// group before needed a temperature above `promptResetOnTemperature` (openai-whisper's
    /// reset: a failed group's text is never offered to the next one). `progress(done, total)`
    /// counts seconds of speech. Segment ids run from 0 over the whole transcript.
    public func transcribe(
        samples: [Float], speech: SpeechOnlyAudio, encoding: WindowEncoding = .contentThenSilence,
        progress: (Double, Double) -> Void = { _, _ in }, onSegment: (WhisperSegment) throws -> Void
    ) throws {
        let groups = SpeechGroup.groups(
            speech.regions.filter { $0.upperBound <= samples.count }, maximumSamples: windowSamples(sampleRate: speech.sampleRate),
            gapSamples: SpeechGroup.gapSamples(sampleRate: speech.sampleRate))
        let total = Double(groups.reduce(0) { $0 + $1.joinedCount }) / Double(speech.sampleRate)
        var context = SpeechGroupContext()
        for group in groups {
            try transcribe(
                group: group, joined: group.joined(samples), speech: speech, encoding: encoding, context: &context,
                progress: { progress($0, total) }, onSegment: onSegment)
        }
    }

    /// Samples in one window at `sampleRate`.
    func windowSamples(sampleRate: Int) -> Int {
        encoder.dimensions.melFrames / Self.framesPerSecond * sampleRate
    }

    /// Transcribes one group (its `joined` samples) as ``transcribe(samples:speech:encoding:progress:onSegment:)``
    /// does, carrying the prompt, the segment ids and the seconds done in `context`;
    /// `progress(done)` counts seconds of speech.
    package func transcribe(
        group: SpeechGroup, joined: [Float], speech: SpeechOnlyAudio, encoding: WindowEncoding, context: inout SpeechGroupContext,
        progress: (Double) -> Void, onSegment: (WhisperSegment) throws -> Void
    ) throws {
        var groupTokens: [Int] = []
        var failed = false
        var nextId = context.nextId
        let done = context.doneSeconds
        try transcribe(
            samples: joined, previousTokens: context.previousTokens, encoding: encoding,
            speechFraction: { group.speechFraction(start: $0, end: $1, speech: speech) },
            progress: { groupDone, _ in progress(done + groupDone) }
        ) { segment in
            groupTokens += segment.tokens
            failed = failed || segment.temperature > options.promptResetOnTemperature
            for var placed in group.place(segment, sampleRate: speech.sampleRate, text: detokenize) {
                placed.id = nextId
                nextId += 1
                try onSegment(placed)
            }
        }
        context.nextId = nextId
        context.previousTokens = options.conditionOnPreviousText && !failed ? Array((context.previousTokens + groupTokens).suffix(224)) : []
        context.doneSeconds += Double(group.joinedCount) / Double(speech.sampleRate)
    }
}

/// What one speech group's transcription hands the next: the prompt, the next segment id and
/// the seconds of speech done.
package struct SpeechGroupContext {
    /// Tokens of the text so far that prompt the next group (empty after a failed group).
    package var previousTokens: [Int] = []
    /// Id of the next segment.
    package var nextId = 0
    /// Seconds of joined speech transcribed.
    package var doneSeconds = 0.0

    /// The context before the first group.
    package init() {}
}
