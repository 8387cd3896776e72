import CopilotCore
import Foundation

/// The optimized code and its CopilotReference twin run on the same input: the largest
/// difference between their outputs, the tolerance they must meet, and how long each took.
///
/// The same comparison serves twice: as the quick self-check before the optimized path is
/// trusted (a fraction of a second of input), and as `copilot bench --verify` (bench-sized
/// input, both timings printed).
package struct ImplementationCheck: Sendable {
    /// The component, as `--stats` and `bench --verify` name it ("vad", "mel", ...).
    package let component: String
    /// What both sides were given, e.g. "1.0 s synthetic speech".
    package let input: String
    /// The largest difference found; what it measures is in ``measure``.
    package let largestDifference: Double
    /// What ``largestDifference`` measures ("difference of speech probability", "relative
    /// error of the logits").
    package let measure: String
    /// Above this, the two disagree.
    package let tolerance: Double
    /// Wall time of the optimized side, in seconds.
    package let optimizedSeconds: Double
    /// Wall time of the reference side, in seconds.
    package let referenceSeconds: Double

    /// A comparison's result; `largestDifference` is measured as `measure` says.
    package init(
        component: String, input: String, largestDifference: Double, measure: String, tolerance: Double,
        optimizedSeconds: Double, referenceSeconds: Double
    ) {
        self.component = component
        self.input = input
        self.largestDifference = largestDifference
        self.measure = measure
        self.tolerance = tolerance
        self.optimizedSeconds = optimizedSeconds
        self.referenceSeconds = referenceSeconds
    }

    /// Whether the two agree within ``tolerance`` (a NaN difference never agrees).
    package var agrees: Bool { largestDifference <= tolerance }
}

/// The comparisons, one per component with a twin.
package enum ImplementationChecks {
    /// A deterministic test signal at 16 kHz: 50 ms of faint noise, then voiced "syllables"
    /// (a 140 Hz harmonic series under a 4 Hz envelope, with noise) for the rest, so a VAD
    /// sees both classes and the mel spectrum has structure in every band.
    package static func signal(seconds: Double, seed: UInt64 = 7) -> [Float] {
        let rate = 16_000
        let count = max(0, Int(seconds * Double(rate)))
        var generator = SplitMix64(seed: seed)
        var samples = [Float](repeating: 0, count: count)
        let quietSamples = rate / 20
        for i in 0..<count {
            let t = Double(i) / Double(rate)
            let noise = (generator.nextUnit() * 2 - 1) * 0.003
            guard i >= quietSamples else {
                samples[i] = Float(noise)
                continue
            }
            let envelope = max(0, sin(2 * Double.pi * 4 * (t - 0.05)))
            var voiced = 0.0
            for harmonic in 1...12 {
                voiced += sin(2 * Double.pi * 140 * Double(harmonic) * t) / Double(harmonic)
            }
            samples[i] = Float(0.2 * envelope * voiced + noise * 10)
        }
        return samples
    }

    /// The VAD `settings` would build, against its reference twin, frame by frame on
    /// `seconds` of ``signal(seconds:seed:)``: the largest difference of speech probability.
    package static func vad(settings: VADSettings, format: VADOutputFormat = .segments, seconds: Double) throws -> ImplementationCheck {
        let optimized = try settings.makeDetector(for: format)
        let reference = try ImplementationSelection.referenceDetector(settings: settings, format: format)
        let samples = signal(seconds: seconds)
        let frame = optimized.frameSamples
        let frames = samples.count / frame
        func probabilities(_ detector: any VoiceActivityDetecting) -> [Float] {
            samples.withUnsafeBufferPointer { all in
                (0..<frames).map { f in
                    detector.process(UnsafeBufferPointer(rebasing: all[(f * frame)..<((f + 1) * frame)])).probability
                }
            }
        }
        var fast = [Float](), slow = [Float]()
        let optimizedSeconds = timed { fast = probabilities(optimized) }
        let referenceSeconds = timed { slow = probabilities(reference) }
        return ImplementationCheck(
            component: "vad (\(settings.detector.rawValue))", input: describe(seconds: seconds, frames: frames, unit: "frames"),
            largestDifference: largestAbsoluteDifference(fast, slow), measure: "difference of speech probability",
            tolerance: 2e-3, optimizedSeconds: optimizedSeconds, referenceSeconds: referenceSeconds)
    }

    /// `LogMelSpectrogram` on `threads` threads against the reference's plain transform, on
    /// `seconds` of ``signal(seconds:seed:)``: the largest difference of a log-mel value.
    package static func mel(threads: Int, seconds: Double) -> ImplementationCheck {
        let samples = signal(seconds: seconds)
        var fast: MelSpectrogram?, slow: MelSpectrogram?
        let optimizedSeconds = timed { fast = LogMelSpectrogram(threadCount: threads).logMelSpectrogram(samples) }
        let referenceSeconds = timed { slow = ReferenceLogMelSpectrogram().logMelSpectrogram(samples) }
        let frames = fast?.frameCount ?? 0
        return ImplementationCheck(
            component: "mel", input: describe(seconds: seconds, frames: frames, unit: "frames"),
            largestDifference: largestAbsoluteDifference(fast?.values ?? [], slow?.values ?? []), measure: "difference of a log-mel value",
            tolerance: 1e-3, optimizedSeconds: optimizedSeconds, referenceSeconds: referenceSeconds)
    }

    /// The Whisper encoder of `weights` on `threads` threads against the reference's loops, on
    /// the log-mel features of `seconds` of ``signal(seconds:seed:)`` (an even frame count,
    /// encoded at its length): the relative error of the encoder output.
    package static func whisperEncoder(weights: WhisperWeights, threads: Int, seconds: Double) -> ImplementationCheck {
        let (mel, frames) = encoderInput(weights: weights, seconds: seconds)
        var fast: [Float] = [], slow: [Float] = []
        let optimizedSeconds = timed { fast = WhisperEncoder(weights: weights, threads: threads).encode(mel: mel, frameCount: frames) }
        let referenceSeconds = timed { slow = ReferenceWhisperEncoder(weights: weights).encode(mel: mel, frameCount: frames) }
        return ImplementationCheck(
            component: "whisper encoder", input: describe(seconds: Double(frames) / 100, frames: frames, unit: "mel frames"),
            largestDifference: relativeError(fast, slow), measure: "relative error of the output",
            tolerance: 1e-2, optimizedSeconds: optimizedSeconds, referenceSeconds: referenceSeconds)
    }

    /// The Whisper decoder of `weights` on `threads` threads against the reference's loops:
    /// the logits after a prompt of `promptTokens` tokens over the reference encoder's output
    /// for `seconds` of the test signal, then one more step; the larger relative error of the
    /// two.
    package static func whisperDecoder(weights: WhisperWeights, threads: Int, seconds: Double, promptTokens: Int = 4) -> ImplementationCheck {
        let (mel, frames) = encoderInput(weights: weights, seconds: seconds)
        let encoded = ReferenceWhisperEncoder(weights: weights).encode(mel: mel, frameCount: frames)
        let dims = weights.dimensions
        let vocabulary = dims.vocabularySize
        let prompt = (0..<max(1, promptTokens)).map { (1 + 37 * $0) % vocabulary }
        let steps: [[Int]] = [prompt, [440 % vocabulary]]
        func run(_ decoder: any WhisperDecoding) -> [[Float]] {
            let cross = decoder.crossCache(encoderOutput: encoded)
            let cache = WhisperKVCache(dimensions: dims)
            var logits: [Float] = []
            return steps.map { tokens in
                decoder.decode(tokens: tokens[...], cache: cache, cross: cross, logits: &logits)
                return logits
            }
        }
        var fast: [[Float]] = [], slow: [[Float]] = []
        let optimizedSeconds = timed { fast = run(WhisperDecoder(weights: weights, threads: threads)) }
        let referenceSeconds = timed { slow = run(ReferenceWhisperDecoder(weights: weights)) }
        let error = zip(fast, slow).map { relativeError($0, $1) }.max() ?? .nan
        return ImplementationCheck(
            component: "whisper decoder", input: "\(prompt.count + 1) tokens over \(frames) mel frames",
            largestDifference: error, measure: "relative error of the logits",
            tolerance: 1e-2, optimizedSeconds: optimizedSeconds, referenceSeconds: referenceSeconds)
    }

    /// The optimized consensus aggregator against the reference on `answers`: 0 when the two
    /// reports are equal, 1 when they differ (a report is exact; there is no rounding to allow).
    package static func consensus(_ answers: [ExpertAnswer], options: ConsensusOptions = .defaults) throws -> ImplementationCheck {
        var fast: ConsensusReport?, slow: ConsensusReport?
        var failure: Error?
        let optimizedSeconds = timed {
            do { fast = try ConsensusAggregator(options: options).aggregate(answers) } catch { failure = error }
        }
        let referenceSeconds = timed {
            do { slow = try ReferenceConsensusAggregator(options: options).aggregate(answers) } catch { failure = error }
        }
        if let failure { throw failure }
        return ImplementationCheck(
            component: "consensus", input: "\(answers.count) answers",
            largestDifference: fast == slow ? 0 : 1, measure: "difference of the reports (0 same, 1 not)",
            tolerance: 0, optimizedSeconds: optimizedSeconds, referenceSeconds: referenceSeconds)
    }

    /// The split-block filter against the reference's classic filter, both sized for `keys`
    /// keys at 1%: each adds "item-0" ... and looks every key up again. A Bloom filter never
    /// loses a key, so the measure is the added keys either filter did not find.
    package static func bloom(keys: Int) throws -> ImplementationCheck {
        let items = (0..<keys).map { "item-\($0)" }
        let fast = try SplitBlockBloomFilter(capacity: keys, falsePositiveRate: 0.01)
        let slow = try ClassicBloomFilter(capacity: keys, falsePositiveRate: 0.01)
        var lost = 0
        let optimizedSeconds = timed {
            for item in items { fast.insert(item) }
            lost += items.count { !fast.contains($0) }
        }
        let referenceSeconds = timed {
            for item in items { slow.insert(item) }
            lost += items.count { !slow.contains($0) }
        }
        return ImplementationCheck(
            component: "bloom", input: "\(keys) keys", largestDifference: Double(lost), measure: "count of added keys not found",
            tolerance: 0, optimizedSeconds: optimizedSeconds, referenceSeconds: referenceSeconds)
    }

    /// `SPSCRing` against the reference's `LockedQueue`, both 4096 bytes, under each policy:
    /// `bytes` of a pattern written and read in uneven chunks on one thread, then drained.
    /// The measure counts the bytes delivered differently, plus any difference in the number
    /// delivered, overruns or underruns.
    package static func buffer(bytes: Int) throws -> ImplementationCheck {
        let input = (0..<bytes).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 8) }
        func run(_ queue: some SampleQueue<UInt8>) -> (delivered: [UInt8], statistics: RingStatistics) {
            var delivered: [UInt8] = []
            delivered.reserveCapacity(bytes)
            var scratch = [UInt8](repeating: 0, count: 1500)
            func take(_ wanted: Int) -> Int {
                let n = scratch.withUnsafeMutableBufferPointer { queue.tryRead(into: UnsafeMutableBufferPointer(rebasing: $0[..<wanted])) }
                delivered.append(contentsOf: scratch[..<n])
                return n
            }
            input.withUnsafeBufferPointer { all in
                var offset = 0, step = 0
                while offset < all.count {
                    step += 1
                    let size = min(all.count - offset, 1 + step * 389 % 1200)
                    offset += queue.tryWrite(from: UnsafeBufferPointer(rebasing: all[offset..<(offset + size)]))
                    _ = take(1 + step * 613 % 1500)
                }
            }
            queue.close()
            while take(scratch.count) > 0 {}
            return (delivered, queue.statistics)
        }
        var difference = 0
        var optimizedSeconds = 0.0, referenceSeconds = 0.0
        for policy in RingFullPolicy.allCases {
            var fast: (delivered: [UInt8], statistics: RingStatistics)?
            var slow: (delivered: [UInt8], statistics: RingStatistics)?
            let ring = try SPSCRing<UInt8>(minimumCapacity: 4096, policy: policy, evictionGranule: 1)
            let queue = try LockedQueue<UInt8>(capacity: 4096, policy: policy)
            optimizedSeconds += timed { fast = run(ring) }
            referenceSeconds += timed { slow = run(queue) }
            guard let fast, let slow else { continue }
            difference += zip(fast.delivered, slow.delivered).count { $0 != $1 } + abs(fast.delivered.count - slow.delivered.count)
            difference += abs(fast.statistics.overruns - slow.statistics.overruns) + abs(fast.statistics.underruns - slow.statistics.underruns)
        }
        return ImplementationCheck(
            component: "buffer", input: "\(bytes) bytes per policy", largestDifference: Double(difference),
            measure: "count of bytes delivered differently", tolerance: 0,
            optimizedSeconds: optimizedSeconds, referenceSeconds: referenceSeconds)
    }

    // MARK: - Helpers

    static func encoderInput(weights: WhisperWeights, seconds: Double) -> (mel: [Float], frames: Int) {
        let dims = weights.dimensions
        let wanted = min(dims.melFrames, max(2, Int(seconds * 100)))
        let frames = wanted - wanted % 2
        let features = LogMelSpectrogram(threadCount: 1)
            .logMelSpectrogram(signal(seconds: Double(frames) / 100 + 0.01))
            .window(startFrame: 0, frameCount: frames)
        // A model with other than 80 bands gets the 80 repeated: any input will do, as long
        // as both sides see the same one.
        var mel = [Float](repeating: 0, count: dims.melCount * frames)
        for band in 0..<dims.melCount {
            let source = band % features.melCount
            for f in 0..<frames { mel[band * frames + f] = features[source, f] }
        }
        return (mel, frames)
    }

    static func describe(seconds: Double, frames: Int, unit: String) -> String {
        String(format: "%.2f s synthetic speech, %d %@", seconds, frames, unit)
    }

    static func timed(_ body: () -> Void) -> Double {
        let start = monotonicNanoseconds()
        body()
        return Double(monotonicNanoseconds() - start) / 1e9
    }

    /// The largest |a[i] - b[i]|; NaN when the lengths differ or any value is NaN.
    static func largestAbsoluteDifference(_ a: [Float], _ b: [Float]) -> Double {
        guard a.count == b.count else { return .nan }
        var worst = 0.0
        for (x, y) in zip(a, b) {
            let d = Double(abs(x - y))
            if d.isNaN { return .nan }
            worst = max(worst, d)
        }
        return worst
    }

    /// ||a - b|| / ||b||; NaN when the lengths differ or the result is not finite.
    static func relativeError(_ a: [Float], _ b: [Float]) -> Double {
        guard a.count == b.count, !b.isEmpty else { return .nan }
        var difference = 0.0, norm = 0.0
        for (x, y) in zip(a, b) {
            difference += Double(x - y) * Double(x - y)
            norm += Double(y) * Double(y)
        }
        let error = (difference / max(norm, .leastNormalMagnitude)).squareRoot()
        return error.isFinite ? error : .nan
    }
}
