import ArgumentParser
import CopilotCore
import Foundation

/// `copilot route check`: validates the route configuration.
struct RouteCheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate the [route] configuration and list its providers and tasks.",
        discussion: """
            Exit status 0 when the file is valid (unset api_key_env variables are warnings on \
            stderr), 1 with the file, the key and the fix when it is not.

            Examples:
              copilot route check --config route.toml
              copilot route check --config route.toml --json
            """)

    @OptionGroup(title: "Configuration")
    var config: ConfigOptions

    @Flag(help: "Print a JSON summary.")
    var json = false

    func run() throws {
        let configuration = try config.load()
        let settings = try RouteSettings(configuration: configuration)
        let path = configuration.path ?? "defaults"
        let warnings = try settings.validate(path: path, environment: ProcessInfo.processInfo.environment)
        for warning in warnings { writeStandardError("warning: \(warning.localizedDescription)\n") }
        try withStandardOutput { out in
            try out.write(json ? RouteSummary.json(settings, path: path) : RouteSummary.plain(settings, path: path))
        }
    }
}
