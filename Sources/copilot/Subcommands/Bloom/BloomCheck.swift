import ArgumentParser
import CopilotCore
import CopilotReference

/// `copilot bloom check`: membership queries against a filter file.
struct BloomCheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Print the items that may be in a filter (or, with --absent, those certainly not).",
        discussion: """
            Exit status, like grep: 0 if at least one queried item may be present, 1 if every \
            item is certainly absent, 2 on an error. With one item: 0 = maybe present, 1 = absent. \
            Filter files hold the split-block filter: --impl reference (CopilotReference's \
            classic filter, in memory only) is refused.

            Examples:
              copilot bloom check seen.bloom alice && echo "maybe seen"
              copilot bloom check seen.bloom --absent < candidates.txt > new.txt
            """)

    @Argument(help: "The filter file.")
    var file: String

    @Argument(help: "Items to look up; none reads stdin lines.")
    var items: [String] = []

    @Flag(help: "Print the items that are certainly absent instead.")
    var absent = false

    @OptionGroup(title: "Implementation") var implementation: ImplementationOptions

    @OptionGroup var config: ConfigOptions

    func run() throws {
        var anyPresent = false
        let start = monotonicNanoseconds()
        do {
            let selection = try ImplementationSelection.bloomFile(path: file, command: "check", requested: implementation.resolve(config.load()))
            let filter = try BloomFile.open(file)
            try withStandardOutput { out in
                if items.isEmpty {
                    anyPresent = try BloomLines.check(input: LineReader(fd: 0, name: "stdin"), against: filter, output: out, printAbsent: absent)
                } else {
                    for item in items {
                        let hit = filter.contains(item)
                        anyPresent = anyPresent || hit
                        if hit != absent { try out.write(item + "\n") }
                    }
                }
            }
            implementation.printStatistics([selection], since: start, audioSeconds: nil)
        } catch let error as ExitCode {
            throw error
        } catch {
            writeStandardError("Error: \(error.localizedDescription)\n")
            throw ExitCode(2)
        }
        if !anyPresent { throw ExitCode(1) }
    }
}
