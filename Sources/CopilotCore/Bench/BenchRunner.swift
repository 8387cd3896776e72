#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// The measured outcome of one ``BenchCase``.
package struct BenchResult: Sendable, Codable, Equatable {
    /// Case name.
    package var name: String
    /// Throughput unit, e.g. `MB`.
    package var unit: String
    /// What the baseline column measured (`reference` unless the case says otherwise).
    package var baseline: String
    /// Threads of the baseline side.
    package var baselineThreads: Int
    /// Threads of the optimized side.
    package var optimizedThreads: Int
    /// Median wall time of one reference operation, in nanoseconds.
    package var referenceNsPerOp: Double
    /// Median wall time of one optimized operation, in nanoseconds.
    package var optimizedNsPerOp: Double
    /// Reference time divided by optimized time.
    package var speedup: Double
    /// Units per second of the reference implementation.
    package var referenceThroughput: Double
    /// Units per second of the optimized implementation.
    package var optimizedThroughput: Double
    /// Seconds of audio processed per second of wall time by the optimized implementation.
    package var optimizedTimesRealtime: Double?
    /// Same for the reference implementation.
    package var referenceTimesRealtime: Double?
    /// Timed runs of each implementation behind the medians.
    package var runs: Int
    /// Word error rate of the reference side's output, for transcription cases.
    package var referenceWordErrorRate: Double?
    /// Word error rate of the optimized side's output.
    package var optimizedWordErrorRate: Double?
    /// The most seconds of input the reference side held at once.
    package var referenceHeldSeconds: Double?
    /// The most seconds of input the optimized side held at once.
    package var optimizedHeldSeconds: Double?

    enum CodingKeys: String, CodingKey {
        case name, unit, baseline, speedup, runs
        case baselineThreads = "baseline_threads"
        case optimizedThreads = "optimized_threads"
        case referenceNsPerOp = "reference_ns_per_op"
        case optimizedNsPerOp = "optimized_ns_per_op"
        case referenceThroughput = "reference_per_second"
        case optimizedThroughput = "optimized_per_second"
        case optimizedTimesRealtime = "optimized_times_realtime"
        case referenceTimesRealtime = "reference_times_realtime"
        case referenceWordErrorRate = "reference_wer"
        case optimizedWordErrorRate = "optimized_wer"
        case referenceHeldSeconds = "reference_held_seconds"
        case optimizedHeldSeconds = "optimized_held_seconds"
    }
}

/// Runs bench cases: one warm-up of each side, then alternating timed runs (so drift in machine
/// load hits both sides alike) until the run count and the time budget are both met; medians.
package struct BenchRunner: Sendable {
    /// Minimum timed runs per side.
    package var minRuns: Int
    /// Maximum timed runs per side.
    package var maxRuns: Int
    /// Wall-time budget per case in seconds; runs stop at `minRuns` once it is spent.
    package var budgetSeconds: Double

    /// A runner sized for `--quick` (about a tenth of a second per case) or a full run.
    package init(quick: Bool) {
        minRuns = quick ? 2 : 5
        maxRuns = quick ? 5 : 31
        budgetSeconds = quick ? 0.15 : 1.5
    }

    /// Creates a runner with explicit limits.
    package init(minRuns: Int, maxRuns: Int, budgetSeconds: Double) {
        self.minRuns = minRuns
        self.maxRuns = maxRuns
        self.budgetSeconds = budgetSeconds
    }

    /// Prepares and measures one case (with its own run count, if it has one: no warm-up).
    package func run(_ benchCase: BenchCase) throws -> BenchResult {
        let ops = try benchCase.prepare()
        if benchCase.runs == nil {
            ops.reference()
            ops.optimized()
        }
        let minRuns = benchCase.runs.map { min($0, self.minRuns) } ?? self.minRuns
        let maxRuns = benchCase.runs.map { min($0, self.maxRuns) } ?? self.maxRuns
        var referenceNs: [Double] = []
        var optimizedNs: [Double] = []
        let start = monotonicNanoseconds()
        while referenceNs.count < maxRuns {
            referenceNs.append(Self.time(ops.reference))
            optimizedNs.append(Self.time(ops.optimized))
            let spentSeconds = Double(monotonicNanoseconds() - start) / 1e9
            if referenceNs.count >= minRuns && spentSeconds >= budgetSeconds { break }
        }
        let outcome = try ops.outcome?()
        let audioSeconds = ops.audioSeconds ?? benchCase.audioSecondsPerOp
        let ref = Self.median(referenceNs)
        let opt = Self.median(optimizedNs)
        let refTput = benchCase.unitsPerOp / (ref / 1e9)
        let optTput = benchCase.unitsPerOp / (opt / 1e9)
        return BenchResult(
            name: benchCase.name, unit: benchCase.unit, baseline: benchCase.baselineLabel,
            baselineThreads: benchCase.baselineThreads, optimizedThreads: benchCase.optimizedThreads,
            referenceNsPerOp: ref, optimizedNsPerOp: opt, speedup: ref / opt,
            referenceThroughput: refTput, optimizedThroughput: optTput,
            optimizedTimesRealtime: audioSeconds.map { $0 / (opt / 1e9) },
            referenceTimesRealtime: audioSeconds.map { $0 / (ref / 1e9) },
            runs: referenceNs.count,
            referenceWordErrorRate: outcome?.reference.wordErrorRate, optimizedWordErrorRate: outcome?.optimized.wordErrorRate,
            referenceHeldSeconds: outcome?.reference.heldSeconds, optimizedHeldSeconds: outcome?.optimized.heldSeconds)
    }

    static func time(_ body: () -> Void) -> Double {
        let t0 = monotonicNanoseconds()
        body()
        return Double(max(monotonicNanoseconds() - t0, 1))
    }

    package static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        let mid = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
    }
}

/// CLOCK_MONOTONIC in nanoseconds.
package func monotonicNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
}

/// Renders results as the Markdown table `copilot bench` prints.
package enum BenchReport {
    /// A Markdown table: case, baseline, threads on each side, time/op, speedup, throughput.
    package static func markdown(_ results: [BenchResult]) -> String {
        var lines = [
            "| case | baseline | threads (baseline / optimized) | baseline time/op | optimized time/op | speedup | optimized throughput | baseline throughput |",
            "|---|---|---:|---:|---:|---:|---:|---:|",
        ]
        for r in results {
            var opt = formatRate(r.optimizedThroughput, unit: r.unit)
            var ref = formatRate(r.referenceThroughput, unit: r.unit)
            opt += notes(timesRealtime: r.optimizedTimesRealtime, wordErrorRate: r.optimizedWordErrorRate, heldSeconds: r.optimizedHeldSeconds)
            ref += notes(timesRealtime: r.referenceTimesRealtime, wordErrorRate: r.referenceWordErrorRate, heldSeconds: r.referenceHeldSeconds)
            lines.append(
                "| \(r.name) | \(r.baseline) | \(r.baselineThreads) / \(r.optimizedThreads) | \(formatDuration(r.referenceNsPerOp)) | "
                    + "\(formatDuration(r.optimizedNsPerOp)) | \(String(format: "%.2fx", r.speedup)) | "
                    + "\(opt) | \(ref) |")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// ` (12x RT, WER 0.045, held 31 s)`: what a throughput cell adds, empty when nothing.
    static func notes(timesRealtime: Double?, wordErrorRate: Double?, heldSeconds: Double?) -> String {
        var parts: [String] = []
        if let x = timesRealtime { parts.append(String(format: "%.0fx RT", x)) }
        if let w = wordErrorRate { parts.append(String(format: "WER %.3f", w)) }
        if let h = heldSeconds { parts.append(String(format: "held %.0f s", h)) }
        return parts.isEmpty ? "" : " (" + parts.joined(separator: ", ") + ")"
    }

    /// JSON array of results, keys in snake_case, sorted for stable output.
    package static func json(_ results: [BenchResult]) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try encoder.encode(results), as: UTF8.self) + "\n"
    }

    /// `1.23 ms`, `456 ns`, `2.50 s`.
    package static func formatDuration(_ ns: Double) -> String {
        switch ns {
        case ..<1e3: return String(format: "%.1f ns", ns)
        case ..<1e6: return String(format: "%.2f us", ns / 1e3)
        case ..<1e9: return String(format: "%.2f ms", ns / 1e6)
        default: return String(format: "%.2f s", ns / 1e9)
        }
    }

    /// `12.3 M samples/s`; units already per byte (MB, GB) are not scaled again.
    package static func formatRate(_ perSecond: Double, unit: String) -> String {
        let (scaled, prefix): (Double, String) =
            switch perSecond {
            case 1e9...: (perSecond / 1e9, "G ")
            case 1e6...: (perSecond / 1e6, "M ")
            case 1e3...: (perSecond / 1e3, "k ")
            default: (perSecond, "")
            }
        return String(format: "%.2f ", scaled) + prefix + unit + "/s"
    }
}
