/// The toolkit's version, printed by `copilot --version`.
public enum CopilotVersion {
    /// Semantic version of this build.
    public static let string = "0.1.0"
}
