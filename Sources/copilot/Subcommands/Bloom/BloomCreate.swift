import ArgumentParser
import CopilotCore

/// `copilot bloom create`: an empty filter file.
struct BloomCreate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Create an empty filter file sized for N items at a false-positive rate.",
        discussion: """
            Examples:
              copilot bloom create seen.bloom --capacity 1000000 --fp-rate 0.01
              copilot bloom create seen.bloom --capacity 5000 --force
            """)

    @Argument(help: "The filter file to create.")
    var file: String

    @OptionGroup var size: BloomSizeOptions

    @Flag(help: "Replace an existing file (under the writer lock).")
    var force = false

    @OptionGroup var config: ConfigOptions

    func validate() throws {
        guard size.capacity != nil else { throw ValidationError("missing --capacity N: the number of items the filter must hold") }
    }

    func run() throws {
        let settings = try BloomSettings(configuration: config.load())
        try BloomFile.create(file, capacity: size.capacity ?? 0, falsePositiveRate: size.falsePositiveRate ?? settings.falsePositiveRate, force: force)
    }
}
