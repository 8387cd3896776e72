/// CopilotReference: plain, Python-parity implementations of CopilotCore's protocols.
///
/// Each type here mirrors what the original Python prototype did, written as directly as
/// possible. It is the fallback, the baseline of `copilot bench`, and the oracle the tests
/// compare the optimized code against.
package enum CopilotReferenceInfo {
    /// Which prototype this module mirrors.
    package static let summary = "Python-parity reference implementations"
}
