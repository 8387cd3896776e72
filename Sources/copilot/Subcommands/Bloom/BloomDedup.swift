import ArgumentParser
import CopilotCore
import CopilotReference
import Foundation

/// `copilot bloom dedup`: drops lines seen before.
struct BloomDedup: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dedup",
        abstract: "Pass stdin lines not seen before to stdout, remembering them in a filter.",
        discussion: """
            Lines are bytes (any encoding); the \\n is not part of the line, and a last line \
            without \\n is passed as it is. An empty line is a line like any other: the first \
            one passes. Lines over 1 MiB stop the run with an error. A false positive drops a \
            new line, with probability --fp-rate.

            Without FILE the filter lives in memory, sized for --capacity lines (default 10M, or \
            when stdin is a regular file no more lines than it has bytes, at least 1024) at \
            --fp-rate (default 1e-6). With FILE the filter is read from it (or created with \
            those sizes) and written back atomically when the input ends, so runs remember each \
            other.

            --impl reference dedups with CopilotReference's classic Bloom filter (the Python \
            prototype's: one bit array, double hashing) in memory only; with FILE it is refused, \
            since filter files hold the split-block filter.

            Examples:
              copilot bloom dedup < urls.txt > unique.txt
              cat day1.log day2.log | copilot bloom dedup seen.bloom --capacity 50000000
              tail -f events.log | copilot bloom dedup     # new lines appear as they arrive
              copilot bloom dedup --impl reference --stats < urls.txt > unique.txt
            """)

    @Argument(help: "Filter file to read and update (created when missing); none keeps it in memory.")
    var file: String?

    @OptionGroup var size: BloomSizeOptions

    @OptionGroup(title: "Implementation") var implementation: ImplementationOptions

    @OptionGroup var config: ConfigOptions

    /// The size of stdin when it is a regular file (`< urls.txt`), else nil (a pipe, a tty).
    static func regularStdinBytes() -> Int? {
        var info = stat()
        guard fstat(0, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        return Int(info.st_size)
    }

    /// The configured capacity, but never more lines than a regular-file input has bytes (a
    /// line takes at least one): four lines no longer get a 49 MB filter.
    static func defaultCapacity(_ configured: Int, stdinBytes: Int?) -> Int {
        guard let stdinBytes else { return configured }
        return min(configured, max(1024, stdinBytes))
    }

    func run() throws {
        let configuration = try config.load()
        let settings = try BloomSettings(configuration: configuration)
        let requested = try implementation.resolve(configuration)
        let start = monotonicNanoseconds()
        let capacity = size.capacity ?? Self.defaultCapacity(settings.dedupCapacity, stdinBytes: Self.regularStdinBytes())
        let rate = size.falsePositiveRate ?? settings.dedupFalsePositiveRate
        let input = LineReader(fd: 0, name: "stdin")
        var summary = LineDeduplicator.Summary(lines: 0, passed: 0)
        let selection: ImplementationReport
        if let file {
            selection = try ImplementationSelection.bloomFile(path: file, command: "dedup", requested: requested)
            try withStandardOutput { out in
                summary = try BloomFile.updateOrCreate(file, capacity: capacity, falsePositiveRate: rate) { filter in
                    try LineDeduplicator.run(input: input, output: out, filter: filter)
                }
            }
        } else {
            let filter: any MembershipFiltering
            (filter, selection) = try ImplementationSelection.membershipFilter(capacity: capacity, falsePositiveRate: rate, requested: requested)
            implementation.announce(selection)
            try withStandardOutput { out in summary = try LineDeduplicator.run(input: input, output: out, filter: filter) }
        }
        implementation.printStatistics(
            [selection], since: start, audioSeconds: nil, more: "dedup: \(summary.lines) lines read, \(summary.passed) passed\n")
    }
}
