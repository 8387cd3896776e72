import ArgumentParser
import CopilotCore
import CopilotReference

/// `copilot bloom add`: adds items to a filter file.
struct BloomAdd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Add items (arguments, or stdin lines) to a filter file.",
        discussion: """
            The file is rewritten atomically; nothing changes when the input has an error. \
            Filter files hold the split-block filter: --impl reference (CopilotReference's \
            classic filter, in memory only) is refused.

            Examples:
              copilot bloom add seen.bloom alice bob
              cut -f1 visits.tsv | copilot bloom add seen.bloom
            """)

    @Argument(help: "The filter file.")
    var file: String

    @Argument(help: "Items to add; none reads stdin lines.")
    var items: [String] = []

    @OptionGroup(title: "Implementation") var implementation: ImplementationOptions

    @OptionGroup var config: ConfigOptions

    func run() throws {
        let start = monotonicNanoseconds()
        let selection = try ImplementationSelection.bloomFile(path: file, command: "add", requested: implementation.resolve(config.load()))
        try BloomFile.update(file) { filter in
            if items.isEmpty {
                try BloomLines.add(input: LineReader(fd: 0, name: "stdin"), to: filter)
            } else {
                for item in items { filter.insert(item) }
            }
        }
        implementation.printStatistics([selection], since: start, audioSeconds: nil)
    }
}
