import CopilotCore
import Foundation

/// `whisper/transcribe ...` cases on the clips that lost or invented speech before the VAD
/// became the default (`benchmarks/transcribe_peers.py` builds the same ones for the peers):
/// sentences with long pauses, a sentence said three times (fallback-heavy for 30 s windows),
/// a sentence after 100 s of noise, and two sentences an hour apart. Both sides run the
/// streamed pipeline of `copilot transcribe` on 2 threads: the baseline is `--no-vad`
/// (faster-whisper's 30 s windows), the optimized side the default (VAD regions only). Each
/// row adds both sides' word error rate against the known text and the most audio each held.
extension WhisperBench {
    /// The clip cases, on the model in `directory`.
    static func clipCases(_ directory: String) -> [BenchCase] {
        [
            clipCase(directory, name: "lost speech: 9 sentences, 3-8 s pauses", runs: 3, text: meetingSentences) {
                var samples = silence(0.5)
                for (index, sentence) in meetingSentences.enumerated() {
                    guard let spoken = speech([sentence]) else { return nil }
                    samples += spoken + silence(index < meetingPauses.count ? meetingPauses[index] : 0.5)
                }
                return samples
            },
            clipCase(directory, name: "fallback-heavy: 1 sentence 3x, 4 s pauses", runs: 3, text: Array(repeating: repeated, count: 3)) {
                guard let spoken = speech([repeated]) else { return nil }
                return silence(4) + spoken + silence(4) + spoken + silence(4) + spoken + silence(4)
            },
            clipCase(directory, name: "1 sentence after 100 s of noise", runs: 3, text: [longSentences[0]]) {
                var generator = SplitMix64(seed: 100)
                let noise = (0..<100 * sampleRate).map { _ in Float.random(in: -0.02...0.02, using: &generator) }
                return speech([longSentences[0]]).map { noise + $0 }
            },
            clipCase(directory, name: "2 sentences 1 h apart", runs: 1, text: Array(longSentences[1...2])) {
                guard let first = speech([longSentences[1]]), let second = speech([longSentences[2]]) else { return nil }
                return first + silence(3600) + second
            },
        ]
    }

    static let sampleRate = 16_000
    /// The peer benchmark's meeting sentences and the pauses after each but the last.
    static let meetingSentences = [
        "Good morning everyone.", "Let us start with the budget.", "The numbers look better this quarter.",
        "Sales grew by ten percent.", "Costs stayed about the same.", "We need two more engineers.",
        "Hiring takes about three months.", "Any questions so far?", "Thank you all for coming.",
    ]
    static let meetingPauses: [Double] = [6, 7, 5, 5, 4, 4, 8, 3]
    static let repeated = "Our teacher asked us to read the first chapter before Monday."
    static let longSentences = [
        "My brother likes to cook pasta with fresh tomatoes and basil.",
        "The train to the city was delayed because of the heavy snow.",
        "We planted a small garden behind the house last spring.",
    ]

    static func silence(_ seconds: Double) -> [Float] {
        [Float](repeating: 0, count: Int(seconds * Double(sampleRate)))
    }

    /// One clip case: `build` synthesises the clip (nil without espeak-ng or sox), `text` is
    /// what it says.
    static func clipCase(
        _ directory: String, name: String, runs: Int, text: [String], build: @escaping @Sendable () -> [Float]?
    ) -> BenchCase {
        BenchCase(
            name: "whisper/transcribe \(name)", unit: "clips", unitsPerOp: 1, baselineLabel: "--no-vad (faster-whisper's windows)",
            baselineThreads: 2, optimizedThreads: 2, runs: runs
        ) {
            let model = try model(directory)
            guard let samples = build() else { throw CocoaError(.fileNoSuchFile) }
            nonisolated(unsafe) let transcriber = Transcriber(model: model, options: TranscriptionOptions(), threads: 2)
            let last = LastOutcomes()
            let reference = text.joined(separator: " ")
            @Sendable func run(vad: Bool) {
                do {
                    let stream = try AudioStream(
                        source: MemoryFrameSource(interleaved: samples, sampleRate: sampleRate, channels: 1), targetRate: sampleRate)
                    var words = ""
                    let statistics =
                        if vad {
                            try transcriber.transcribe(stream: stream, detector: VADSettings().makeDetector(for: .segments)) {
                                words += " " + $0.text
                            }
                        } else {
                            try transcriber.transcribe(stream: stream) { words += " " + $0.text }
                        }
                    last.record(
                        BenchOutcome(
                            wordErrorRate: WordErrorRate.rate(reference: reference, hypothesis: words),
                            heldSeconds: statistics.peakHeldSeconds),
                        optimized: vad)
                } catch {
                    last.fail(error)
                }
            }
            return BenchOperations(
                reference: { run(vad: false) }, optimized: { run(vad: true) },
                audioSeconds: Double(samples.count) / Double(sampleRate), outcome: { try last.both() })
        }
    }
}

/// Each side's outcome of its last run (the runs alternate on one thread; the lock keeps the
/// closures `Sendable`).
private final class LastOutcomes: @unchecked Sendable {
    private let lock = NSLock()
    private var reference = BenchOutcome()
    private var optimized = BenchOutcome()

    private var error: (any Error)?

    func fail(_ error: any Error) {
        lock.lock()
        defer { lock.unlock() }
        self.error = self.error ?? error
    }

    func record(_ outcome: BenchOutcome, optimized isOptimized: Bool) {
        lock.lock()
        defer { lock.unlock() }
        if isOptimized { optimized = outcome } else { reference = outcome }
    }

    /// Both outcomes, or the first error a run met.
    func both() throws -> (reference: BenchOutcome, optimized: BenchOutcome) {
        lock.lock()
        defer { lock.unlock() }
        if let error { throw error }
        return (reference, optimized)
    }
}
