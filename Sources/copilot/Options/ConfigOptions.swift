import ArgumentParser
import CopilotCore

/// `--config PATH`: the configuration file that flags override.
struct ConfigOptions: ParsableArguments {
    @Option(
        name: .customLong("config"),
        help: ArgumentHelp(
            "Configuration file (default: $COPILOT_CONFIG, then ~/.config/copilot/copilot.toml).",
            valueName: "path"))
    var path: String?

    /// The resolved configuration.
    func load() throws -> Configuration {
        try Configuration.load(explicitPath: path)
    }
}
