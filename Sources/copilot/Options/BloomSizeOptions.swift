import ArgumentParser

/// `--capacity` and `--fp-rate`: how a new filter is sized.
struct BloomSizeOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Number of items the filter is sized for.", valueName: "n"))
    var capacity: Int?

    @Option(name: .customLong("fp-rate"), help: ArgumentHelp("Target false-positive rate at capacity, in (0, 1).", valueName: "p"))
    var falsePositiveRate: Double?
}
