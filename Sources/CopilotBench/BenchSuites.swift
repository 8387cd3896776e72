import CopilotCore
import CopilotReference

/// Every component's bench suite, in table order. Each area adds its suite here.
package enum BenchSuites {
    /// The suites `copilot bench` runs.
    package static let all: [BenchSuite] = [
        AudioBenchSuite.suite,
        RingBenchSuite.suite,
        VadBenchSuite.suite,
        melBenchSuite,
        WhisperBench.suite,
        BloomBenchSuite.suite,
        ConsensusBenchSuite.suite,
        CacheBenchSuite.suite,
        RouteBenchSuite.suite,
    ]
}
