/// The two timed operations of a case: the same work done by the baseline (normally the
/// CopilotReference implementation) and by the optimized implementation.
package struct BenchOperations: Sendable {
    /// One run of the baseline implementation.
    package var reference: @Sendable () -> Void
    /// One run of the optimized implementation.
    package var optimized: @Sendable () -> Void
    /// Seconds of audio one operation processes, when only the prepared input knows it
    /// (synthesised speech); overrides the case's ``BenchCase/audioSecondsPerOp``.
    package var audioSeconds: Double?
    /// What each side's last run produced, asked once after the timed runs (transcription
    /// cases: word error rate and audio held); an error fails the case.
    package var outcome: (@Sendable () throws -> (reference: BenchOutcome, optimized: BenchOutcome))?

    /// Creates the pair.
    package init(
        reference: @escaping @Sendable () -> Void, optimized: @escaping @Sendable () -> Void, audioSeconds: Double? = nil,
        outcome: (@Sendable () throws -> (reference: BenchOutcome, optimized: BenchOutcome))? = nil
    ) {
        self.reference = reference
        self.optimized = optimized
        self.audioSeconds = audioSeconds
        self.outcome = outcome
    }
}

/// What one side of a case produced besides its time: a transcript's word error rate against
/// the known text, and the most input it held at once.
package struct BenchOutcome: Sendable, Equatable {
    /// Word error rate of the output against the known text.
    package var wordErrorRate: Double?
    /// The most seconds of input audio held in memory at once.
    package var heldSeconds: Double?

    /// Creates an outcome.
    package init(wordErrorRate: Double? = nil, heldSeconds: Double? = nil) {
        self.wordErrorRate = wordErrorRate
        self.heldSeconds = heldSeconds
    }
}

/// One row of `copilot bench`.
///
/// Describing a case is cheap; `prepare` does the set-up (generating input, allocating rings,
/// writing files) only when the case is about to run, so `--filter` and `--list` skip it.
package struct BenchCase: Sendable {
    /// Stable name shown in the table and matched by `--filter`, e.g. `ring/spsc 64MB`.
    package var name: String
    /// Unit of the throughput column, e.g. `MB`, `samples`, `frames`, `lookups`.
    package var unit: String
    /// How many `unit`s one operation processes; throughput = unitsPerOp / seconds per op.
    package var unitsPerOp: Double
    /// Seconds of audio one operation processes, when the case is about audio; adds a
    /// "times real time" figure.
    package var audioSecondsPerOp: Double?
    /// Label of the baseline column when it is not the Python-parity reference (for example
    /// `memcpy` for the physical limit of a copy).
    package var baselineLabel: String
    /// Threads the baseline side runs on (a producer and a consumer count as two).
    package var baselineThreads: Int
    /// Threads the optimized side runs on.
    package var optimizedThreads: Int
    /// Timed runs per side when fewer than the runner's (a case of minutes per run), with no
    /// warm-up run; `nil` for the runner's counts and a warm-up.
    package var runs: Int?
    /// Builds the input and returns the timed operations.
    package var prepare: @Sendable () throws -> BenchOperations

    /// Creates a case.
    package init(
        name: String, unit: String, unitsPerOp: Double, audioSecondsPerOp: Double? = nil,
        baselineLabel: String = "reference", baselineThreads: Int = 1, optimizedThreads: Int = 1, runs: Int? = nil,
        prepare: @escaping @Sendable () throws -> BenchOperations
    ) {
        self.name = name
        self.unit = unit
        self.unitsPerOp = unitsPerOp
        self.audioSecondsPerOp = audioSecondsPerOp
        self.baselineLabel = baselineLabel
        self.baselineThreads = baselineThreads
        self.optimizedThreads = optimizedThreads
        self.runs = runs
        self.prepare = prepare
    }
}

/// What a case factory may know about the run.
package struct BenchContext: Sendable {
    /// `--quick`: inputs small enough that every case together finishes in under 10 s.
    package var quick: Bool
    /// Seed for generated input, so every run measures the same data.
    package var seed: UInt64

    /// Creates a context.
    package init(quick: Bool, seed: UInt64 = 42) {
        self.quick = quick
        self.seed = seed
    }
}

/// A named group of cases (one per component).
package struct BenchSuite: Sendable {
    /// Prefix shared by the suite's case names, e.g. `ring`.
    package var name: String
    /// Describes the cases (cheap: the set-up is in each case's `prepare`).
    package var makeCases: @Sendable (BenchContext) -> [BenchCase]

    /// Creates a suite.
    package init(name: String, makeCases: @escaping @Sendable (BenchContext) -> [BenchCase]) {
        self.name = name
        self.makeCases = makeCases
    }
}

/// Keeps a value alive and opaque to the optimizer, so timed work is not removed as dead code.
@inline(never)
package func benchBlackHole<T>(_ value: T) {
    withExtendedLifetime(value) {}
}
