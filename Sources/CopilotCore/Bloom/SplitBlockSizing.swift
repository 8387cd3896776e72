import Foundation

/// The shape of a split-block filter: how many 512-bit blocks, and how many bits each item sets.
package struct SplitBlockLayout: Equatable, Sendable {
    /// Number of 512-bit blocks.
    package var blockCount: Int
    /// Bits set per item: 8 (one in each word) or 16 (two in each word).
    package var bitsPerItem: Int

    /// Creates a layout.
    package init(blockCount: Int, bitsPerItem: Int) {
        self.blockCount = blockCount
        self.bitsPerItem = bitsPerItem
    }
}

/// Sizing of a split-block filter: the layout that holds `capacity` items at a target
/// false-positive rate in the fewest blocks.
///
/// Items land in blocks at random, so a block's load is Poisson with mean λ = n / blocks. With
/// b bits per word per item (b = 1 for 8 bits per item, 2 for 16), a block holding j items has
/// a fraction f = 1 - (63/64)^(bj) of each word set, and a probe finds its bits set with
/// probability f^8 (b = 1) or ((63 f² + f) / 64)^8 (b = 2: the two positions coincide one time
/// in 64). The filter's rate is that average over the Poisson load, computed numerically (the
/// classic formula is optimistic for blocked filters). 8 bits per item is best down to about
/// 1e-4; below that, 16 bits needs fewer blocks (39 instead of 52 bits per item at 1e-6).
package enum SplitBlockSizing {
    /// Largest filter this build creates: 16 GiB of bits.
    package static let maximumBytes = 1 << 34
    /// The supported bits per item.
    package static let supportedBitsPerItem = [8, 16]

    /// Expected false-positive rate of `blockCount` blocks holding `items` items.
    package static func falsePositiveRate(items: Double, blockCount: Int, bitsPerItem: Int = 8) -> Double {
        guard items > 0, blockCount > 0 else { return 0 }
        let lambda = items / Double(blockCount)
        let q = 63.0 / 64.0
        let perWord = Double(bitsPerItem / 8)
        // Sum the Poisson terms within ±(12σ + 20) of the mean; the rest is below 1e-30.
        let spread = 12 * lambda.squareRoot() + 20
        let low = max(0, Int((lambda - spread).rounded(.down)))
        let high = Int((lambda + spread).rounded(.up))
        var total = 0.0
        var j = low
        while j <= high {
            let logP = -lambda + Double(j) * log(lambda) - lgamma(Double(j) + 1)
            let f = 1 - pow(q, perWord * Double(j))
            let hit = bitsPerItem == 16 ? (63 * f * f + f) / 64 : f
            total += exp(logP) * pow(hit, 8)
            j += 1
        }
        return min(1, total)
    }

    /// The layout with the fewest blocks whose expected rate at `capacity` items is at most
    /// `falsePositiveRate` (8 bits per item unless 16 saves at least 5%: it costs a few more
    /// instructions per probe).
    package static func layout(capacity: Int, falsePositiveRate p: Double) throws(BloomError) -> SplitBlockLayout {
        guard capacity >= 1 else { throw .capacityTooSmall(capacity) }
        guard p > 0, p < 1 else { throw .falsePositiveRateOutOfRange(p) }
        let eight = try? blockCount(capacity: capacity, falsePositiveRate: p, bitsPerItem: 8)
        let sixteen = try? blockCount(capacity: capacity, falsePositiveRate: p, bitsPerItem: 16)
        switch (eight, sixteen) {
        case let (e?, s?): return s * 20 <= e * 19 ? SplitBlockLayout(blockCount: s, bitsPerItem: 16) : SplitBlockLayout(blockCount: e, bitsPerItem: 8)
        case let (e?, nil): return SplitBlockLayout(blockCount: e, bitsPerItem: 8)
        case let (nil, s?): return SplitBlockLayout(blockCount: s, bitsPerItem: 16)
        case (nil, nil):
            let classicBytes = -Double(capacity) * log(p) / (log(2) * log(2)) / 8
            throw .filterTooLarge(capacity: capacity, falsePositiveRate: p, bytes: classicBytes, limitBytes: maximumBytes)
        }
    }

    /// Smallest block count whose expected rate at `capacity` items is at most `falsePositiveRate`
    /// with `bitsPerItem` bits per item.
    package static func blockCount(capacity: Int, falsePositiveRate p: Double, bitsPerItem: Int) throws(BloomError) -> Int {
        guard capacity >= 1 else { throw .capacityTooSmall(capacity) }
        guard p > 0, p < 1 else { throw .falsePositiveRateOutOfRange(p) }
        let n = Double(capacity)
        let maxBlocks = maximumBytes / 64
        // A classic filter needs -n ln p / ln²2 bits; a blocked one needs more, rarely 4x.
        let classicBlocks = -n * log(p) / (log(2) * log(2)) / 512
        guard classicBlocks <= Double(maxBlocks) else {
            throw .filterTooLarge(capacity: capacity, falsePositiveRate: p, bytes: classicBlocks * 64, limitBytes: maximumBytes)
        }
        var low = max(1, Int(classicBlocks * 0.9))
        if falsePositiveRate(items: n, blockCount: low, bitsPerItem: bitsPerItem) <= p { low = 1 }
        var high = low
        while falsePositiveRate(items: n, blockCount: high, bitsPerItem: bitsPerItem) > p {
            guard high < maxBlocks else {
                throw .filterTooLarge(capacity: capacity, falsePositiveRate: p, bytes: Double(high) * 128, limitBytes: maximumBytes)
            }
            low = high + 1
            high = min(maxBlocks, high * 2)
        }
        // Invariant: rate(high) <= p; find the smallest such count.
        while low < high {
            let mid = low + (high - low) / 2
            if falsePositiveRate(items: n, blockCount: mid, bitsPerItem: bitsPerItem) <= p { high = mid } else { low = mid + 1 }
        }
        return high
    }
}
