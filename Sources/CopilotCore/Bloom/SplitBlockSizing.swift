import Foundation

/// Sizing of a split-block filter: how many 512-bit blocks hold `capacity` items at a target
/// false-positive rate.
///
/// Items land in blocks at random, so a block's load is Poisson with mean λ = n / blocks; a
/// block holding j items has each of its 8 words set in 1 - (63/64)^j of its bits, and a probe
/// hits 8 set bits with probability (1 - (63/64)^j)^8. The filter's rate is that average over
/// the Poisson load, computed numerically (the textbook formula for a classic filter is
/// optimistic for blocked filters). Sizing searches the smallest block count meeting the target.
public enum SplitBlockSizing {
    /// Largest filter this build creates: 16 GiB of bits.
    public static let maximumBytes = 1 << 34
    /// Bits set per item (one in each 64-bit word of a block).
    public static let bitsPerItem = 8

    /// Expected false-positive rate of `blockCount` blocks holding `items` items.
    public static func falsePositiveRate(items: Double, blockCount: Int) -> Double {
        guard items > 0, blockCount > 0 else { return 0 }
        let lambda = items / Double(blockCount)
        let q = 63.0 / 64.0
        // Sum the Poisson terms within ±(12σ + 20) of the mean; the rest is below 1e-30.
        let spread = 12 * lambda.squareRoot() + 20
        let low = max(0, Int((lambda - spread).rounded(.down)))
        let high = Int((lambda + spread).rounded(.up))
        var total = 0.0
        var j = low
        while j <= high {
            let logP = -lambda + Double(j) * log(lambda) - lgamma(Double(j) + 1)
            let perWord = 1 - pow(q, Double(j))
            total += exp(logP) * pow(perWord, Double(bitsPerItem))
            j += 1
        }
        return min(1, total)
    }

    /// Smallest block count whose expected rate at `capacity` items is at most `falsePositiveRate`.
    public static func blockCount(capacity: Int, falsePositiveRate p: Double) throws(BloomError) -> Int {
        guard capacity >= 1 else { throw .capacityTooSmall(capacity) }
        guard p > 0, p < 1 else { throw .falsePositiveRateOutOfRange(p) }
        let n = Double(capacity)
        let maxBlocks = maximumBytes / 64
        // A classic filter needs -n ln p / ln²2 bits; a blocked one needs more, rarely 3x.
        let classicBlocks = -n * log(p) / (log(2) * log(2)) / 512
        guard classicBlocks <= Double(maxBlocks) else {
            throw .filterTooLarge(capacity: capacity, falsePositiveRate: p, bytes: classicBlocks * 64, limitBytes: maximumBytes)
        }
        var low = max(1, Int(classicBlocks * 0.9))
        if falsePositiveRate(items: n, blockCount: low) <= p { low = 1 }
        var high = low
        while falsePositiveRate(items: n, blockCount: high) > p {
            guard high < maxBlocks else {
                throw .filterTooLarge(capacity: capacity, falsePositiveRate: p, bytes: Double(high) * 128, limitBytes: maximumBytes)
            }
            high = min(maxBlocks, high * 2)
        }
        // Invariant: rate(high) <= p; find the smallest such count.
        while low < high {
            let mid = low + (high - low) / 2
            if falsePositiveRate(items: n, blockCount: mid) <= p { high = mid } else { low = mid + 1 }
        }
        return high
    }
}
