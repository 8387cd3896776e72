import CopilotCore
import Foundation

/// The Python prototype's Bloom filter: one bit array of m bits, k indices per item from
/// MurmurHash3 x86 128-bit by double hashing (h1 = low 64 bits, h2 = high 64 bits,
/// index i = (h1 + i·h2) mod m, with Python's unbounded integers), sized by the textbook
/// formulas m = ⌈-n ln p / (ln 2)²⌉ and k = round(m / n · ln 2).
///
/// Each lookup touches up to k random cache lines; that is what the split-block filter avoids.
public final class ClassicBloomFilter: MembershipFiltering {
    /// Number of bits.
    public let bitCount: Int
    /// Bits set per item.
    public let hashCount: Int
    private var words: [UInt64]

    /// A filter for `capacity` items at `falsePositiveRate`, sized by the textbook formulas.
    public init(capacity: Int, falsePositiveRate p: Double) throws {
        guard capacity >= 1 else { throw BloomError.capacityTooSmall(capacity) }
        guard p > 0, p < 1 else { throw BloomError.falsePositiveRateOutOfRange(p) }
        let n = Double(capacity)
        let m = (-n * log(p) / (log(2) * log(2))).rounded(.up)
        guard m / 8 <= Double(SplitBlockSizing.maximumBytes) else {
            throw BloomError.filterTooLarge(capacity: capacity, falsePositiveRate: p, bytes: m / 8, limitBytes: SplitBlockSizing.maximumBytes)
        }
        bitCount = max(1, Int(m))
        hashCount = max(1, Int((Double(bitCount) / n * log(2)).rounded()))
        words = [UInt64](repeating: 0, count: (bitCount + 63) / 64)
    }

    /// The expected false-positive rate at `items` items: (1 - e^(-k n / m))^k.
    public func expectedFalsePositiveRate(items: Int) -> Double {
        pow(1 - exp(-Double(hashCount) * Double(items) / Double(bitCount)), Double(hashCount))
    }

    /// Sets the k bits of `bytes`; true when one of them was clear. O(k) random accesses.
    @discardableResult
    public func insert(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var added = false
        forEachIndex(bytes) { i in
            let mask: UInt64 = 1 << UInt64(i % 64)
            if words[i / 64] & mask == 0 {
                added = true
                words[i / 64] |= mask
            }
            return true
        }
        return added
    }

    /// Whether all k bits of `bytes` are set (stops at the first clear one, as Python's `all`).
    public func contains(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var all = true
        forEachIndex(bytes) { i in
            if words[i / 64] & (1 << UInt64(i % 64)) == 0 { all = false }
            return all
        }
        return all
    }

    /// Adds a string's UTF-8 bytes.
    @discardableResult
    public func insert(_ string: String) -> Bool {
        var s = string
        return s.withUTF8 { insert(UnsafeRawBufferPointer($0)) }
    }

    /// Whether a string may be present.
    public func contains(_ string: String) -> Bool {
        var s = string
        return s.withUTF8 { contains(UnsafeRawBufferPointer($0)) }
    }

    /// Adds every item of `other` (same m and k required).
    public func formUnion(_ other: ClassicBloomFilter) throws {
        try checkCompatible(other)
        for i in words.indices { words[i] |= other.words[i] }
    }

    /// Keeps the bits set in both.
    public func formIntersection(_ other: ClassicBloomFilter) throws {
        try checkCompatible(other)
        for i in words.indices { words[i] &= other.words[i] }
    }

    /// Fraction of the m bits that are set.
    public var fillRatio: Double {
        Double(words.reduce(0) { $0 + $1.nonzeroBitCount }) / Double(bitCount)
    }

    /// Swamidass and Baldi's estimate: -(m / k) ln(1 - X / m).
    public var estimatedCount: Double {
        let fill = fillRatio
        guard fill < 1 else { return .infinity }
        return -Double(bitCount) / Double(hashCount) * log1p(-fill)
    }

    private func checkCompatible(_ other: ClassicBloomFilter) throws {
        guard other.bitCount == bitCount, other.hashCount == hashCount else {
            throw BloomError.incompatible("\(bitCount) bits, k = \(hashCount) vs \(other.bitCount) bits, k = \(other.hashCount)")
        }
    }

    /// Calls `body` with the k bit indices of `bytes` until it returns false.
    private func forEachIndex(_ bytes: UnsafeRawBufferPointer, _ body: (Int) -> Bool) {
        let (h1, h2) = MurmurHash3.x86_128(bytes)
        let m = UInt64(bitCount)
        var index = h1 % m
        let step = h2 % m
        for _ in 0..<hashCount {
            guard body(Int(index)) else { return }
            index = (index + step) % m
        }
    }
}
