import ArgumentParser
import CopilotCore

/// `copilot bloom merge`: union (or intersection) of filter files.
struct BloomMerge: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Write the union of filter files (created with the same sizes) to OUT.",
        discussion: """
            OUT may be one of the inputs; it is replaced atomically under the writer lock.

            Examples:
              copilot bloom merge all.bloom day1.bloom day2.bloom
              copilot bloom merge both.bloom a.bloom b.bloom --intersect
            """)

    @Argument(help: "The filter file to write.")
    var output: String

    @Argument(help: "Filter files to combine.")
    var inputs: [String]

    @Flag(help: "Keep only bits set in every input (items added to all of them).")
    var intersect = false

    func validate() throws {
        guard !inputs.isEmpty else { throw ValidationError("give at least one input filter after OUT") }
    }

    func run() throws {
        try BloomFile.merge(output: output, inputs: inputs, intersect: intersect)
    }
}
