/// A probabilistic set of byte strings: no false negatives, a bounded rate of false positives.
/// ``SplitBlockBloomFilter`` is the fast one; CopilotReference's `ClassicBloomFilter` is the
/// Python prototype's, kept as baseline and oracle.
public protocol MembershipFiltering: AnyObject {
    /// Adds `bytes`; returns true when it was not already (maybe) present.
    @discardableResult
    func insert(_ bytes: UnsafeRawBufferPointer) -> Bool
    /// Whether `bytes` may have been added (false: certainly not).
    func contains(_ bytes: UnsafeRawBufferPointer) -> Bool
    /// Fraction of bits set, in [0, 1].
    var fillRatio: Double { get }
    /// Number of distinct items estimated from the fill.
    var estimatedCount: Double { get }
}

extension SplitBlockBloomFilter: MembershipFiltering {}
