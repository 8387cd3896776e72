import CopilotCore
import Foundation

/// Which implementation of one component ran, and why: what `--stats` prints and where the
/// fallback notice comes from.
package struct ImplementationReport: Sendable {
    /// The component ("vad", "mel", "transcribe").
    package let component: String
    /// What `--impl` or `[general] impl` asked for.
    package let requested: Implementation
    /// What runs.
    package let ran: Implementation
    /// The self-check that decided, when the optimized path was asked for.
    package let checks: [ImplementationCheck]
    /// Why the optimized path was not trusted (a check that disagreed or failed), if so.
    package let fallbackReason: String?
    /// What the optimized code runs on this CPU, where that varies.
    package var kernels: String?

    /// One line for stderr when the optimized path fell back, `nil` otherwise.
    package var notice: String? {
        fallbackReason.map { "copilot: \(component): \($0); running the reference implementation instead (slower; pass --impl reference to skip the check)" }
    }

    /// The `--stats` lines: what ran, and each self-check's difference and time.
    package var statistics: String {
        var lines = ["implementation: \(component) \(ran.rawValue)" + (requested != ran ? " (asked for \(requested.rawValue))" : "")]
        if let kernels { lines.append("optimized kernels: \(kernels)") }
        for check in checks {
            lines.append(String(
                format: "self-check: %@ on %@: largest %@ %.3g (tolerance %.3g), %.1f ms optimized, %.1f ms reference",
                check.component, check.input, check.measure, check.largestDifference, check.tolerance,
                check.optimizedSeconds * 1000, check.referenceSeconds * 1000))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// Builds a component from its optimized code or from CopilotReference: `reference` when
/// asked; `optimized` only after its self-check (both sides on a fraction of a second of
/// synthetic input) agrees, otherwise the reference with a notice.
package enum ImplementationSelection {
    /// Decides between the two: the reference when asked for; otherwise runs `checks` and
    /// keeps the optimized path only if every one agrees (a check that throws counts as
    /// disagreeing).
    package static func choose(
        component: String, requested: Implementation, checks: () throws -> [ImplementationCheck]
    ) -> ImplementationReport {
        guard requested == .optimized else {
            return ImplementationReport(component: component, requested: requested, ran: .reference, checks: [], fallbackReason: nil)
        }
        let results: [ImplementationCheck]
        do {
            results = try checks()
        } catch {
            return ImplementationReport(
                component: component, requested: requested, ran: .reference, checks: [],
                fallbackReason: "the optimized path's self-check failed (\(error.localizedDescription))")
        }
        if let failed = results.first(where: { !$0.agrees }) {
            let reason = String(
                format: "the optimized %@ disagreed with the reference on its self-check (largest %@ %.3g, tolerance %.3g)",
                failed.component, failed.measure, failed.largestDifference, failed.tolerance)
            return ImplementationReport(component: component, requested: requested, ran: .reference, checks: results, fallbackReason: reason)
        }
        return ImplementationReport(component: component, requested: requested, ran: .optimized, checks: results, fallbackReason: nil)
    }

    /// Input the self-checks run on: both of the VAD's classes and a few mel frames, short
    /// enough to cost milliseconds.
    static let selfCheckSeconds = 0.15

    /// The detector `settings` describe, as CopilotReference writes it.
    package static func referenceDetector(settings: VADSettings, format: VADOutputFormat) throws -> any VoiceActivityDetecting {
        try settings.validate()
        let frameSamples = settings.frameSamples(for: format)
        switch settings.detector {
        case .energy:
            return ReferenceEnergyDetector(frameSamples: frameSamples, threshold: settings.threshold ?? EnergyVoiceDetector.defaultThreshold)
        case .default:
            return try ReferenceSpectralDetector(
                frameMs: frameSamples / 16, aggressiveness: settings.aggressiveness, threshold: settings.threshold)
        }
    }

    /// The voice detector for `copilot vad`, `transcribe --vad` and `--live`.
    package static func voiceDetector(
        settings: VADSettings, format: VADOutputFormat, requested: Implementation
    ) throws -> (detector: any VoiceActivityDetecting, report: ImplementationReport) {
        let report = choose(component: "vad", requested: requested) {
            [try ImplementationChecks.vad(settings: settings, format: format, seconds: selfCheckSeconds)]
        }
        let detector = report.ran == .optimized
            ? try settings.makeDetector(for: format)
            : try referenceDetector(settings: settings, format: format)
        return (detector, report)
    }

    /// The log-mel extractor for `copilot mel`.
    package static func melExtractor(threads: Int, requested: Implementation) -> (extractor: any MelExtracting, report: ImplementationReport) {
        let report = choose(component: "mel", requested: requested) {
            [ImplementationChecks.mel(threads: threads, seconds: selfCheckSeconds)]
        }
        let extractor: any MelExtracting = report.ran == .optimized
            ? LogMelSpectrogram(threadCount: threads) : ReferenceLogMelSpectrogram()
        return (extractor, report)
    }

    /// The aggregator for `copilot consensus`: the optimized one after it gives the same
    /// report as the reference on a small generated set (5 answers of 60 words), or the
    /// reference (the prototype's word overlap and factual vote: no claim check, no question).
    package static func consensusAggregator(
        options: ConsensusOptions, requested: Implementation
    ) -> (aggregator: any ConsensusAggregating, report: ImplementationReport) {
        let report = choose(component: "consensus", requested: requested) {
            // The reference has no claim rules to compare the optimized ones with.
            var compared = options
            compared.claimMaxWords = 0
            var generator = ConsensusAnswerGenerator(seed: 7)
            return [try ImplementationChecks.consensus(generator.answerSet(count: 5, words: 60), options: compared)]
        }
        let aggregator: any ConsensusAggregating = report.ran == .optimized
            ? ConsensusAggregator(options: options) : ReferenceConsensusAggregator(options: options)
        return (aggregator, report)
    }

    /// The in-memory filter of `copilot bloom dedup`: the split-block filter after its
    /// self-check (1000 keys found again), or the reference's classic filter.
    package static func membershipFilter(
        capacity: Int, falsePositiveRate: Double, requested: Implementation
    ) throws -> (filter: any MembershipFiltering, report: ImplementationReport) {
        let report = choose(component: "bloom", requested: requested) { [try ImplementationChecks.bloom(keys: 1000)] }
        let filter: any MembershipFiltering = report.ran == .optimized
            ? try SplitBlockBloomFilter(capacity: capacity, falsePositiveRate: falsePositiveRate)
            : try ClassicBloomFilter(capacity: capacity, falsePositiveRate: falsePositiveRate)
        return (filter, report)
    }

    /// A `copilot bloom` command on the filter file `path`: files hold the split-block filter,
    /// so the reference is refused (``BloomError/referenceHasNoFile(path:command:)``) and the
    /// optimized filter runs without a self-check (there is nothing to fall back to).
    package static func bloomFile(path: String, command: String, requested: Implementation) throws -> ImplementationReport {
        guard requested == .optimized else { throw BloomError.referenceHasNoFile(path: path, command: command) }
        return ImplementationReport(component: "bloom", requested: requested, ran: .optimized, checks: [], fallbackReason: nil)
    }

    /// The stage of `copilot buffer`: the lock-free ring (``BufferStage``) after its
    /// self-check against `LockedQueue`, or ``ReferenceBufferStage`` (the prototype's lock and
    /// byte array, a deque of blocks for `--tail`).
    package static func bufferStage(
        settings: BufferSettings, input: any ByteSource, output: Int32, requested: Implementation
    ) throws -> (stage: any StreamBuffering, report: ImplementationReport) {
        let report = choose(component: "buffer", requested: requested) { [try ImplementationChecks.buffer(bytes: 65_536)] }
        let stage: any StreamBuffering = report.ran == .optimized
            ? try BufferStage(settings: settings, input: input, output: output)
            : try ReferenceBufferStage(settings: settings, input: input, output: output)
        return (stage, report)
    }

    /// The transcriber for `copilot transcribe`: the optimized pipeline after its mel,
    /// encoder and decoder agree with the reference on a short input (a ``SelfCheckModel``
    /// shaped like `model`), or the reference's mel, encoder and decoder (plain loops, one
    /// thread) behind the same window decoder.
    package static func transcriber(
        model: WhisperModel, options: TranscriptionOptions, threads: Int, requested: Implementation
    ) -> (transcriber: Transcriber, report: ImplementationReport) {
        let report = choose(component: "transcribe", requested: requested) {
            let weights = SelfCheckModel.weights(
                like: model.weights.dimensions, halfPrecisionEmbedding: model.weights.tokenEmbedding.isHalfPrecision)
            return [
                ImplementationChecks.mel(threads: threads, seconds: selfCheckSeconds),
                ImplementationChecks.whisperEncoder(weights: weights, threads: threads, seconds: selfCheckSeconds),
                ImplementationChecks.whisperDecoder(weights: weights, threads: threads, seconds: selfCheckSeconds),
            ]
        }
        guard report.ran == .reference else {
            var report = report
            report.kernels = OptimizedKernels.summary
            return (Transcriber(model: model, options: options, threads: threads), report)
        }
        let windowDecoder = WhisperWindowDecoder(
            decoder: ReferenceWhisperDecoder(weights: model.weights), specials: model.tokenizer.special,
            suppressIds: model.suppressIds, suppressIdsAtBegin: model.suppressIdsAtBegin, options: options.decoding)
        let tokenizer = model.tokenizer
        let transcriber = Transcriber(
            encoder: ReferenceWhisperEncoder(weights: model.weights), windowDecoder: windowDecoder,
            mel: ReferenceLogMelSpectrogram(), options: options, alignmentHeads: model.alignmentHeads,
            detokenize: { tokenizer.decode($0) })
        return (transcriber, report)
    }
}
