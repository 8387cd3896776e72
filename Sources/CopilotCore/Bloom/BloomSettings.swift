/// The `[bloom]` section of the configuration: defaults that flags override.
public struct BloomSettings: Equatable, Sendable {
    /// False-positive rate of `copilot bloom create` when `--fp-rate` is not given.
    public var falsePositiveRate: Double
    /// Lines an in-memory `copilot bloom dedup` is sized for.
    public var dedupCapacity: Int
    /// False-positive rate of `copilot bloom dedup` (the chance a new line is dropped).
    public var dedupFalsePositiveRate: Double

    /// The built-in defaults.
    public static let defaults = BloomSettings(falsePositiveRate: 0.01, dedupCapacity: 10_000_000, dedupFalsePositiveRate: 1e-6)

    /// Creates settings.
    public init(falsePositiveRate: Double, dedupCapacity: Int, dedupFalsePositiveRate: Double) {
        self.falsePositiveRate = falsePositiveRate
        self.dedupCapacity = dedupCapacity
        self.dedupFalsePositiveRate = dedupFalsePositiveRate
    }

    /// Reads `[bloom]`, refusing unknown keys and out-of-range values.
    public init(configuration: Configuration) throws {
        let s = try configuration.section("bloom")
        try s.checkKeys(known: ["fp_rate", "dedup_capacity", "dedup_fp_rate"])
        let d = Self.defaults
        let open = Double.leastNonzeroMagnitude...(1 - Double.ulpOfOne)
        falsePositiveRate = try s.double("fp_rate", default: d.falsePositiveRate, in: open)
        dedupCapacity = try s.int("dedup_capacity", default: d.dedupCapacity, in: 1...(1 << 40))
        dedupFalsePositiveRate = try s.double("dedup_fp_rate", default: d.dedupFalsePositiveRate, in: open)
    }
}
