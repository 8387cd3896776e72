#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// The split-block filter for many producer threads: the same layout and hash as
/// ``SplitBlockBloomFilter``, with each word set by an atomic fetch-or (relaxed ordering:
/// bits only ever go from 0 to 1, so no add can undo another).
///
/// Adds from any number of threads never lose a bit; a lookup racing with an add of the same
/// item may still say absent until the add has finished. ``snapshot()`` freezes the bits into
/// a plain filter (for saving or fast single-threaded lookups).
public final class ConcurrentSplitBlockBloomFilter: @unchecked Sendable {
    /// Number of 512-bit blocks and bits per item.
    package let layout: SplitBlockLayout
    /// The capacity the filter was sized for.
    public let capacity: Int
    /// The false-positive rate the filter was sized for.
    public let targetFalsePositiveRate: Double

    private let memory: BloomMemory
    private let words: UnsafeMutablePointer<Atomic<UInt64>>
    private let blockCount64: UInt64
    private let added = Atomic<Int>(0)

    /// An empty filter sized for `capacity` items at `falsePositiveRate`.
    public init(capacity: Int, falsePositiveRate: Double) throws(BloomError) {
        let layout = try SplitBlockSizing.layout(capacity: capacity, falsePositiveRate: falsePositiveRate)
        let blocks = layout.blockCount
        memory = try BloomMemory(zeroedBytes: blocks * 64)
        // Atomic<UInt64> has UInt64's size and alignment; the zeroed words are valid atomics.
        words = UnsafeMutableRawPointer(memory.words).assumingMemoryBound(to: Atomic<UInt64>.self)
        self.layout = layout
        blockCount64 = UInt64(blocks)
        self.capacity = capacity
        targetFalsePositiveRate = falsePositiveRate
    }

    /// Adds a byte string; returns true when it was not already (maybe) present. Thread-safe.
    @discardableResult
    public func insert(_ bytes: UnsafeRawBufferPointer) -> Bool { insert(hash: WyHash.hash(bytes)) }

    /// Adds a string's UTF-8 bytes. Thread-safe.
    @discardableResult
    public func insert(_ string: String) -> Bool { insert(hash: WyHash.hash(string)) }

    /// Adds the item whose hash is `hash`. Thread-safe.
    @discardableResult
    public func insert(hash: UInt64) -> Bool {
        let base = SplitBlockBloomFilter.blockIndex(hash, blockCount64) &* 8
        let x = UInt32(truncatingIfNeeded: hash)
        var missing: UInt64 = 0
        for i in 0..<8 {
            let m = mask(x, i)
            let old = (words + base + i).pointee.bitwiseOr(m, ordering: .relaxed).oldValue
            missing |= ~old & m
        }
        if missing != 0 { added.add(1, ordering: .relaxed) }
        return missing != 0
    }

    /// Whether a byte string may be present. Thread-safe.
    public func contains(_ bytes: UnsafeRawBufferPointer) -> Bool { contains(hash: WyHash.hash(bytes)) }

    /// Whether a string may be present. Thread-safe.
    public func contains(_ string: String) -> Bool { contains(hash: WyHash.hash(string)) }

    /// Whether the item whose hash is `hash` may be present. Thread-safe.
    public func contains(hash: UInt64) -> Bool {
        let base = SplitBlockBloomFilter.blockIndex(hash, blockCount64) &* 8
        let x = UInt32(truncatingIfNeeded: hash)
        var missing: UInt64 = 0
        for i in 0..<8 {
            missing |= ~(words + base + i).pointee.load(ordering: .relaxed) & mask(x, i)
        }
        return missing == 0
    }

    /// A plain filter with the bits as they are now (call after the producers finished for an
    /// exact copy).
    public func snapshot() throws(BloomError) -> SplitBlockBloomFilter {
        let copy = try BloomMemory(zeroedBytes: layout.blockCount * 64)
        for i in 0..<(layout.blockCount * 8) {
            copy.words[i] = (words + i).pointee.load(ordering: .relaxed)
        }
        return SplitBlockBloomFilter(memory: copy, layout: layout, capacity: capacity,
                                     falsePositiveRate: targetFalsePositiveRate,
                                     itemCount: added.load(ordering: .relaxed))
    }

    /// The item's bits in word `i`, as ``SplitBlockBloomFilter`` sets them.
    private func mask(_ x: UInt32, _ i: Int) -> UInt64 {
        let first = SplitBlockBloomFilter.mask(x, SplitBlockBloomFilter.salts[i])
        return layout.bitsPerItem == 16 ? first | SplitBlockBloomFilter.mask(x, SplitBlockBloomFilter.secondSalts[i]) : first
    }
}
