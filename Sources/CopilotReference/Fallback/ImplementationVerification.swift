import CopilotCore
import Foundation

/// `copilot bench --verify`: every component's optimized code and its reference on the same
/// bench-sized input, the largest difference of each, as a table.
package enum ImplementationVerification {
    /// Runs the comparisons. `model` (the real Whisper weights, when installed) is compared on
    /// `whisperSeconds` of encoder input; without it, a ``SelfCheckModel`` shaped like tiny.en
    /// stands in. `progress` is told each component before it runs.
    package static func run(
        quick: Bool, threads: Int, model: WhisperWeights?, seed: UInt64, progress: (String) -> Void = { _ in }
    ) throws -> [ImplementationCheck] {
        let audioSeconds = quick ? 5.0 : 60.0
        var checks: [ImplementationCheck] = []
        for kind in VADDetectorKind.allCases {
            progress("vad (\(kind.rawValue))")
            var settings = VADSettings()
            settings.detector = kind
            checks.append(try ImplementationChecks.vad(settings: settings, seconds: audioSeconds))
        }
        progress("mel")
        checks.append(ImplementationChecks.mel(threads: threads, seconds: quick ? 5 : 30))
        let weights = model ?? SelfCheckModel.weights(like: tinyEnglish, halfPrecisionEmbedding: true)
        let whisperSeconds = quick || model == nil ? 1.0 : 10.0
        progress("whisper encoder")
        checks.append(ImplementationChecks.whisperEncoder(weights: weights, threads: threads, seconds: whisperSeconds))
        progress("whisper decoder")
        checks.append(ImplementationChecks.whisperDecoder(weights: weights, threads: threads, seconds: whisperSeconds, promptTokens: 8))
        progress("consensus")
        var generator = ConsensusAnswerGenerator(seed: seed)
        checks.append(try ImplementationChecks.consensus(generator.answerSet(count: 10, words: quick ? 50 : 200)))
        return checks
    }

    /// tiny.en's shape, for the stand-in model when the real one is absent.
    static let tinyEnglish = WhisperDimensions(
        melCount: 80, audioContext: 1500, width: 384, headCount: 6, encoderLayerCount: 4, decoderLayerCount: 4,
        ffnWidth: 1536, vocabularySize: 51864, textContext: 448)

    /// The Markdown table: one row per comparison, threads on both sides.
    package static func markdown(_ checks: [ImplementationCheck], threads: Int) -> String {
        var text = "| component | input | largest difference | tolerance | agrees | optimized (\(threads) threads) | reference (1 thread) |\n"
        text += "|---|---|---:|---:|---|---:|---:|\n"
        for check in checks {
            text += String(
                format: "| %@ | %@ | %.3g (%@) | %.3g | %@ | %.1f ms | %.1f ms |\n",
                check.component, check.input, check.largestDifference, check.measure, check.tolerance,
                check.agrees ? "yes" : "**NO**", check.optimizedSeconds * 1000, check.referenceSeconds * 1000)
        }
        return text
    }

    /// The same as a JSON array of objects.
    package static func json(_ checks: [ImplementationCheck], threads: Int) -> String {
        let rows = checks.map { check -> [String: Any] in
            [
                "component": check.component, "input": check.input, "measure": check.measure,
                "largest_difference": check.largestDifference.isFinite ? check.largestDifference : -1,
                "tolerance": check.tolerance, "agrees": check.agrees,
                "optimized_seconds": check.optimizedSeconds, "optimized_threads": threads,
                "reference_seconds": check.referenceSeconds, "reference_threads": 1,
            ]
        }
        let data = (try? JSONSerialization.data(withJSONObject: rows, options: [.prettyPrinted, .sortedKeys])) ?? Data("[]".utf8)
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}
