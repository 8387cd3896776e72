import CopilotCore
import Foundation

/// Synthetic "speech" for the live pipeline's tests: tone bursts the energy detector hears
/// (RMS 0.2) between silences, at 16 kHz, described in 30 ms frames so every expected
/// position is exact.
enum LiveSignals {
    static let rate = 16_000
    static let frame = 480

    /// One piece of the signal.
    enum Piece {
        /// Silence for `frames` frames.
        case silence(Int)
        /// A tone of `hertz` for `frames` frames at amplitude 0.3 (RMS about 0.2).
        case tone(Int, hertz: Double)
        /// A tone too quiet for the detector (RMS about 0.004): a soft first syllable.
        case soft(Int)
        /// `count` voices at once for `frames` frames (RMS about 0.2): see ``voices(count:samples:seed:)``.
        case voices(Int, count: Int)
    }

    /// `count` talkers' vowels summed: each a pitch of its own (90-250 Hz, a slow vibrato)
    /// with ten harmonics falling 6 dB an octave and a syllable rhythm of its own, scaled
    /// to RMS about 0.2. One is a voice; six are babble.
    static func voices(count: Int, samples: Int, seed: UInt64) -> [Float] {
        var random = SplitMix64(seed: seed)
        var out = [Double](repeating: 0, count: samples)
        for _ in 0..<count {
            let pitch = 90 + 160 * random.nextUnit(), syllable = 3 + 3 * random.nextUnit(), offset = random.nextUnit()
            var phase = 2 * Double.pi * random.nextUnit()
            for i in 0..<samples {
                let t = Double(i) / Double(rate)
                phase += 2 * Double.pi * pitch * (1 + 0.03 * sin(2 * Double.pi * 5 * t)) / Double(rate)
                var x = 0.0
                for k in 1...10 { x += sin(Double(k) * phase) / Double(k) }
                out[i] += x * (0.6 + 0.4 * sin(2 * Double.pi * (syllable * t + offset)))
            }
        }
        let rms = (out.reduce(0) { $0 + $1 * $1 } / Double(max(1, samples))).squareRoot()
        return out.map { Float($0 / max(rms, 1e-9) * 0.2) }
    }

    /// The samples of `pieces`, in order.
    static func signal(_ pieces: [Piece]) -> [Float] {
        var out: [Float] = []
        for piece in pieces {
            switch piece {
            case .silence(let frames):
                out += [Float](repeating: 0, count: frames * frame)
            case .tone(let frames, let hertz):
                let start = out.count
                out += (0..<(frames * frame)).map { Float(0.3 * sin(2 * Double.pi * hertz * Double(start + $0) / Double(rate))) }
            case .voices(let frames, let count):
                out += voices(count: count, samples: frames * frame, seed: UInt64(out.count + count))
            case .soft(let frames):
                let start = out.count
                out += (0..<(frames * frame)).map { Float(0.006 * sin(2 * Double.pi * 300 * Double(start + $0) / Double(rate))) }
            }
        }
        return out
    }

    /// An energy detector on 30 ms frames at its default threshold (RMS 0.01).
    static func detector() -> EnergyVoiceDetector { EnergyVoiceDetector(frameSamples: frame) }

    /// Minimum speech 90 ms, minimum silence 300 ms (10 frames).
    static let shaping = SegmentShaping(minSpeechMs: 90, minSilenceMs: 300, padMs: 0)

    /// Feeds `samples` to `cutter` in chunks of the given sizes (cycled), then finishes.
    static func events(_ cutter: UtteranceCutter, _ samples: [Float], chunks: [Int] = [320]) -> [UtteranceEvent] {
        var events: [UtteranceEvent] = []
        var offset = 0
        var turn = 0
        samples.withUnsafeBufferPointer { all in
            while offset < all.count {
                let n = min(chunks[turn % chunks.count], all.count - offset)
                cutter.feed(UnsafeBufferPointer(rebasing: all[offset..<(offset + n)])) { events.append($0) }
                offset += n
                turn += 1
            }
        }
        cutter.finish { events.append($0) }
        return events
    }

    static func finals(_ events: [UtteranceEvent]) -> [UtteranceAudio] {
        events.compactMap { if case .final(let audio) = $0 { audio } else { nil } }
    }

    /// The tone of one loud frame from its zero crossings, rounded to 50 Hz; 0 for a quiet one.
    static func hertz(_ samples: ArraySlice<Float>) -> Int {
        var energy: Float = 0
        for x in samples { energy += x * x }
        guard !samples.isEmpty, (energy / Float(samples.count)).squareRoot() > 0.05 else { return 0 }
        var crossings = 0
        for (a, b) in zip(samples, samples.dropFirst()) where (a < 0) != (b < 0) { crossings += 1 }
        let seconds = Double(samples.count) / Double(rate)
        return Int((Double(crossings) / 2 / seconds / 50).rounded()) * 50
    }
}

/// A stand-in for Whisper that "hears" tones: the text of an utterance names the tones in it
/// in order (`t400 t700`), one word per run of 30 ms frames of the same tone, so a test can
/// tell which bursts an utterance holds. Deterministic, so finals can be compared exactly.
final class ToneTranscriber: UtteranceTranscribing, @unchecked Sendable {
    private let lock = NSLock()
    private(set) var calls: [(samples: Int, encoding: WindowEncoding, fallback: Bool, prompt: Int)] = []
    /// Microseconds each partial (fallback off) sleeps, to make decoding fall behind.
    let partialDelayUs: UInt32

    /// Compression ratio reported for partials (above 2.4: a hallucinated loop).
    let partialCompressionRatio: Double

    /// Partials run until the pipeline abandons them (a final or a speculation arrived).
    let partialsWaitToBeAbandoned: Bool
    /// Partials that ran 20 s without being abandoned.
    private(set) var partialsNeverAbandoned = 0

    /// Each tone's word is written this many times (more: text faster than the audio could hold).
    let repeatWords: Int

    init(partialDelayUs: UInt32 = 0, partialCompressionRatio: Double = 1, partialsWaitToBeAbandoned: Bool = false, repeatWords: Int = 1) {
        self.repeatWords = repeatWords
        self.partialDelayUs = partialDelayUs
        self.partialCompressionRatio = partialCompressionRatio
        self.partialsWaitToBeAbandoned = partialsWaitToBeAbandoned
    }

    func transcribeUtterance(
        _ samples: [Float], previousTokens: [Int], encoding: WindowEncoding, fallbackCandidates: Int, shouldStop: () -> Bool
    ) throws -> UtteranceTranscript {
        let fallback = fallbackCandidates > 0
        lock.lock()
        calls.append((samples.count, encoding, fallback, previousTokens.count))
        lock.unlock()
        if !fallback && partialDelayUs > 0 { usleep(partialDelayUs) }
        if !fallback && partialsWaitToBeAbandoned {
            // Up to 20 s, polled like decoder steps; a partial never abandoned is recorded.
            var polls = 0
            while !shouldStop() {
                polls += 1
                if polls == 20_000 {
                    lock.lock()
                    partialsNeverAbandoned += 1
                    lock.unlock()
                    break
                }
                usleep(1_000)
            }
            if polls < 20_000 { throw CancellationError() }
        }
        var words: [String] = []
        var index = 0
        while index + LiveSignals.frame <= samples.count {
            let tone = LiveSignals.hertz(samples[index..<(index + LiveSignals.frame)])
            if tone > 0 && words.last != "t\(tone)" { words.append("t\(tone)") }
            if tone == 0 && words.last != nil && words.last != "|" { words.append("|") }
            index += LiveSignals.frame
        }
        while words.last == "|" { words.removeLast() }
        let text = words.filter { $0 != "|" }.flatMap { Array(repeating: $0, count: repeatWords) }.joined(separator: " ")
        return UtteranceTranscript(
            text: text, tokens: Array(repeating: 1, count: words.count), temperature: 0,
            compressionRatio: fallback ? 1 : partialCompressionRatio)
    }
}

