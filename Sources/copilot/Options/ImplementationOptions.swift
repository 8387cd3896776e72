import ArgumentParser
import CopilotCore
import CopilotReference
import Foundation

extension Implementation: ExpressibleByArgument {}

/// `--impl` and `--stats` of the subcommands whose components have a CopilotReference twin.
struct ImplementationOptions: ParsableArguments {
    @Option(
        name: .customLong("impl"),
        help: ArgumentHelp(
            "optimized (checked against the reference at start; falls back to it on disagreement) or reference (CopilotReference's plain code). Default optimized, or [general] impl.",
            valueName: "impl"))
    var implementation: Implementation?

    @Flag(help: "Print on stderr at exit which implementation ran, its self-check and its time, then the subcommand's own counts (buffer: overruns, underruns, peak fill; bloom dedup: lines; transcribe --live: lag, skipped partials).")
    var stats = false

    /// `--impl`, else `[general] impl`.
    func resolve(_ configuration: Configuration) throws -> Implementation {
        try implementation ?? GeneralSettings(configuration: configuration).implementation
    }

    /// Says on stderr, once, that the optimized path fell back.
    func announce(_ report: ImplementationReport) {
        if let notice = report.notice { writeStandardError(notice + "\n") }
    }

    /// With `--stats`: the reports and the time since `start` for `audioSeconds` of input,
    /// then `more` (whole lines the subcommand adds).
    func printStatistics(_ reports: [ImplementationReport], since start: UInt64, audioSeconds: Double?, more: String = "") {
        guard stats else { return }
        writeStandardError(reports.map(\.statistics).joined() + ImplementationOptions.timeLine(since: start, audioSeconds: audioSeconds) + more)
    }

    /// "time: 1.234 s (for 60.0 s of audio: 48.6x real time)".
    /// `start` is a ``monotonicNanoseconds()`` reading.
    static func timeLine(since start: UInt64, audioSeconds: Double?) -> String {
        let seconds = Double(monotonicNanoseconds() - start) / 1e9
        guard let audioSeconds, audioSeconds > 0 else { return String(format: "time: %.3f s\n", seconds) }
        return String(format: "time: %.3f s for %.1f s of audio (%.1fx real time)\n", seconds, audioSeconds, audioSeconds / max(seconds, 1e-9))
    }
}
