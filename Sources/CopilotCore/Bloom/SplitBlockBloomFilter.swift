#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// A split-block ("cache-line blocked") Bloom filter over byte strings.
///
/// The bits are 512-bit blocks of eight 64-bit words, one 64-byte cache line each. An item's
/// 64-bit ``WyHash`` picks one block with its high 32 bits (multiply-shift, no division) and,
/// with its low 32 bits multiplied by eight odd "salt" constants (the scheme of Parquet's and
/// Impala's split-block filters), one bit in each of the block's eight words, or two with a
/// second set of salts in the 16-bits-per-item layout that low target rates get (see
/// ``SplitBlockSizing``). An add or a lookup therefore touches exactly one cache line: one
/// cache miss at most.
///
/// Not safe for concurrent writers (see ``ConcurrentSplitBlockBloomFilter``); concurrent
/// readers are fine.
public final class SplitBlockBloomFilter: @unchecked Sendable {
    /// Number of 512-bit blocks.
    public let blockCount: Int
    /// Bits set per item: 8 (one per word) or 16 (two per word, for low false-positive rates).
    public let bitsPerItem: Int
    /// The capacity the filter was sized for (informational).
    public let capacity: Int
    /// The false-positive rate the filter was sized for at `capacity` items (informational).
    public let targetFalsePositiveRate: Double
    /// Items added that were not already (maybe) present.
    public var itemCount: Int { addedCount.pointee }
    /// Behind a pointer rather than a stored `var`, so the hot path pays no exclusivity check;
    /// `[1]` is the sink of the bulk paths' touch loads.
    @usableFromInline let addedCount: UnsafeMutablePointer<Int>

    let memory: BloomMemory
    @usableFromInline let words: UnsafeMutablePointer<UInt64>
    @usableFromInline let blockCount64: UInt64
    @usableFromInline let sixteenBits: Bool

    /// An empty filter sized for `capacity` items at `falsePositiveRate`.
    public convenience init(capacity: Int, falsePositiveRate: Double) throws(BloomError) {
        let layout = try SplitBlockSizing.layout(capacity: capacity, falsePositiveRate: falsePositiveRate)
        try self.init(memory: BloomMemory(zeroedBytes: layout.blockCount * 64), layout: layout, capacity: capacity,
                      falsePositiveRate: falsePositiveRate, itemCount: 0)
    }

    /// An empty filter with `bitsPerItem` (8 or 16) bits per item, sized for `capacity` items
    /// at `falsePositiveRate` with that layout.
    public convenience init(capacity: Int, falsePositiveRate: Double, bitsPerItem: Int) throws(BloomError) {
        guard SplitBlockSizing.supportedBitsPerItem.contains(bitsPerItem) else {
            throw .incompatible("\(bitsPerItem) bits per item is not a split-block layout (8 or 16)")
        }
        let blocks = try SplitBlockSizing.blockCount(capacity: capacity, falsePositiveRate: falsePositiveRate, bitsPerItem: bitsPerItem)
        let layout = SplitBlockLayout(blockCount: blocks, bitsPerItem: bitsPerItem)
        try self.init(memory: BloomMemory(zeroedBytes: blocks * 64), layout: layout, capacity: capacity,
                      falsePositiveRate: falsePositiveRate, itemCount: 0)
    }

    init(memory: BloomMemory, layout: SplitBlockLayout, capacity: Int, falsePositiveRate: Double, itemCount: Int) {
        self.memory = memory
        self.words = memory.words
        self.blockCount = layout.blockCount
        self.blockCount64 = UInt64(layout.blockCount)
        self.bitsPerItem = layout.bitsPerItem
        self.sixteenBits = layout.bitsPerItem == 16
        self.capacity = capacity
        self.targetFalsePositiveRate = falsePositiveRate
        self.addedCount = .allocate(capacity: 1)
        self.addedCount.initialize(to: itemCount)
    }

    deinit { addedCount.deallocate() }

    /// Block count and bits per item.
    package var layout: SplitBlockLayout { SplitBlockLayout(blockCount: blockCount, bitsPerItem: bitsPerItem) }

    /// Size of the bits in bytes (64 per block).
    public var byteCount: Int { blockCount * 64 }

    /// The bits, for writing to a file or comparing.
    public var bits: UnsafeRawBufferPointer { memory.bytes }

    // MARK: One item

    /// Adds the item whose ``WyHash`` is `hash`; returns true when it was not already (maybe)
    /// present. O(1), one cache line.
    @inlinable @inline(__always) @discardableResult
    public func insert(hash: UInt64) -> Bool {
        let missing = sixteenBits ? Self.set(hash, words, blockCount64, sixteen: true)
                                  : Self.set(hash, words, blockCount64, sixteen: false)
        addedCount.pointee &+= missing != 0 ? 1 : 0
        return missing != 0
    }

    /// Whether the item whose hash is `hash` may be present (false: certainly absent).
    @inlinable @inline(__always)
    public func contains(hash: UInt64) -> Bool {
        let missing = sixteenBits ? Self.test(hash, words, blockCount64, sixteen: true)
                                  : Self.test(hash, words, blockCount64, sixteen: false)
        return missing == 0
    }

    /// The bits of word `i` for the item: one (salt `a`), or two with `sixteen` (salts `a`, `b`).
    @inlinable @inline(__always)
    static func wordMask(_ x: UInt32, _ a: UInt32, _ b: UInt32, sixteen: Bool) -> UInt64 {
        sixteen ? mask(x, a) | mask(x, b) : mask(x, a)
    }

    /// Sets the item's bits in its block; returns the bits that were clear. Called with a
    /// literal `sixteen`, so each layout gets its own straight-line copy.
    @inlinable @inline(__always)
    static func set(_ hash: UInt64, _ words: UnsafeMutablePointer<UInt64>, _ blocks: UInt64, sixteen: Bool) -> UInt64 {
        let w = words + blockIndex(hash, blocks) &* 8
        let x = UInt32(truncatingIfNeeded: hash)
        var missing: UInt64 = 0
        @inline(__always) func set(_ i: Int, _ a: UInt32, _ b: UInt32) {
            let m = wordMask(x, a, b, sixteen: sixteen)
            let old = w[i]
            missing |= ~old & m
            w[i] = old | m
        }
        set(0, 0x47b6_137b, 0x9e37_79b1); set(1, 0x4497_4d91, 0x85eb_ca77)
        set(2, 0x8824_ad5b, 0xc2b2_ae3d); set(3, 0xa2b7_289d, 0x27d4_eb2f)
        set(4, 0x7054_95c7, 0x1656_67b1); set(5, 0x2df1_424b, 0xd3a2_646d)
        set(6, 0x9efc_4947, 0xfd70_46c5); set(7, 0x5c6b_fb31, 0xb55a_4f09)
        return missing
    }

    /// The item's bits that are clear in its block (0: maybe present).
    @inlinable @inline(__always)
    static func test(_ hash: UInt64, _ words: UnsafeMutablePointer<UInt64>, _ blocks: UInt64, sixteen: Bool) -> UInt64 {
        let w = words + blockIndex(hash, blocks) &* 8
        let x = UInt32(truncatingIfNeeded: hash)
        var missing = ~w[0] & wordMask(x, 0x47b6_137b, 0x9e37_79b1, sixteen: sixteen)
        missing |= ~w[1] & wordMask(x, 0x4497_4d91, 0x85eb_ca77, sixteen: sixteen)
        missing |= ~w[2] & wordMask(x, 0x8824_ad5b, 0xc2b2_ae3d, sixteen: sixteen)
        missing |= ~w[3] & wordMask(x, 0xa2b7_289d, 0x27d4_eb2f, sixteen: sixteen)
        missing |= ~w[4] & wordMask(x, 0x7054_95c7, 0x1656_67b1, sixteen: sixteen)
        missing |= ~w[5] & wordMask(x, 0x2df1_424b, 0xd3a2_646d, sixteen: sixteen)
        missing |= ~w[6] & wordMask(x, 0x9efc_4947, 0xfd70_46c5, sixteen: sixteen)
        missing |= ~w[7] & wordMask(x, 0x5c6b_fb31, 0xb55a_4f09, sixteen: sixteen)
        return missing
    }

    /// Adds a byte string; returns true when it was not already (maybe) present.
    @inlinable @discardableResult
    public func insert(_ bytes: UnsafeRawBufferPointer) -> Bool { insert(hash: WyHash.hash(bytes)) }

    /// Whether a byte string may be present.
    @inlinable
    public func contains(_ bytes: UnsafeRawBufferPointer) -> Bool { contains(hash: WyHash.hash(bytes)) }

    /// Adds a string's UTF-8 bytes.
    @inlinable @discardableResult
    public func insert(_ string: String) -> Bool { insert(hash: WyHash.hash(string)) }

    /// Whether a string (its UTF-8 bytes) may be present.
    @inlinable
    public func contains(_ string: String) -> Bool { contains(hash: WyHash.hash(string)) }

    /// The odd multipliers that pick a bit in each word (Parquet's split-block salts), and the
    /// second set for the 16-bit layout; ``set(_:_:_:sixteen:)`` and ``test(_:_:_:sixteen:)``
    /// spell them out unrolled.
    static let salts: [UInt32] = [
        0x47b6_137b, 0x4497_4d91, 0x8824_ad5b, 0xa2b7_289d, 0x7054_95c7, 0x2df1_424b, 0x9efc_4947, 0x5c6b_fb31,
    ]
    static let secondSalts: [UInt32] = [
        0x9e37_79b1, 0x85eb_ca77, 0xc2b2_ae3d, 0x27d4_eb2f, 0x1656_67b1, 0xd3a2_646d, 0xfd70_46c5, 0xb55a_4f09,
    ]

    @inlinable @inline(__always)
    static func blockIndex(_ hash: UInt64, _ blocks: UInt64) -> Int {
        Int(truncatingIfNeeded: ((hash >> 32) &* blocks) >> 32)
    }

    @inlinable @inline(__always)
    static func mask(_ x: UInt32, _ salt: UInt32) -> UInt64 {
        1 &<< UInt64((x &* salt) >> 26)
    }

    // MARK: Bulk

    /// Keys per bulk batch: enough independent probes in flight to overlap cache misses.
    @usableFromInline static let batchSize = 64

    /// Adds every key of `keys`: hashes a batch first, then probes, so the loads of many keys
    /// are in flight at once instead of one cache miss after another. Returns the number of keys
    /// that were not already (maybe) present.
    @discardableResult
    public func insertAll(_ keys: ByteStrings) -> Int {
        var added = 0
        withUnsafeTemporaryAllocation(of: UInt64.self, capacity: Self.batchSize) { hashes in
            keys.forEachBatch(size: Self.batchSize, hashes: hashes) { count in
                touch(hashes, count)
                for i in 0..<count where insert(hash: hashes[i]) { added += 1 }
            }
        }
        return added
    }

    /// Looks up every key of `keys`, writing whether each may be present into `results`
    /// (`results.count >= keys.count`); returns how many may be present. Batched like
    /// ``insertAll(_:)``; the probes are branch-free.
    @discardableResult
    public func containsAll(_ keys: ByteStrings, into results: UnsafeMutableBufferPointer<Bool>) -> Int {
        precondition(results.count >= keys.count, "results buffer shorter than the key list")
        var present = 0
        var next = 0
        withUnsafeTemporaryAllocation(of: UInt64.self, capacity: Self.batchSize) { hashes in
            keys.forEachBatch(size: Self.batchSize, hashes: hashes) { count in
                touch(hashes, count)
                for i in 0..<count {
                    let hit = contains(hash: hashes[i])
                    results[next + i] = hit
                    present &+= hit ? 1 : 0
                }
                next += count
            }
        }
        return present
    }

    /// Loads one word of each key's block: a few instructions per key, so dozens of cache
    /// misses are in flight at once (Swift has no prefetch intrinsic; a consumed load does the
    /// same). The probes that follow then hit the cache.
    @inline(__always)
    private func touch(_ hashes: UnsafeMutableBufferPointer<UInt64>, _ count: Int) {
        var sink: UInt64 = 0
        for i in 0..<count { sink |= words[Self.blockIndex(hashes[i], blockCount64) &* 8] }
        // Passed to a function the optimizer may not look into, which keeps the loads; no
        // store, so concurrent readers share the filter without a write between them.
        Self.keep(sink)
    }

    @inline(never) @_optimize(none)
    private static func keep(_ value: UInt64) {}

    // MARK: Set operations

    /// Adds every item of `other` (bitwise or). Both filters must have the same block count.
    /// The item count becomes the fill estimate (the two sets may overlap). O(size).
    public func formUnion(_ other: SplitBlockBloomFilter) throws(BloomError) {
        try checkCompatible(other)
        for i in 0..<(blockCount * 8) { words[i] |= other.words[i] }
        addedCount.pointee = Int(min(estimatedCount, Double(Int.max / 2)).rounded())
    }

    /// Keeps only bits set in both filters (bitwise and): an item added to both is still
    /// maybe-present; an item in one only is usually absent. The item count becomes the fill
    /// estimate. O(size).
    public func formIntersection(_ other: SplitBlockBloomFilter) throws(BloomError) {
        try checkCompatible(other)
        for i in 0..<(blockCount * 8) { words[i] &= other.words[i] }
        addedCount.pointee = Int(min(estimatedCount, Double(Int.max / 2)).rounded())
    }

    func checkCompatible(_ other: SplitBlockBloomFilter) throws(BloomError) {
        guard other.layout == layout else {
            throw .incompatible("\(blockCount) blocks of \(bitsPerItem) bits per item vs \(other.blockCount) of \(other.bitsPerItem)")
        }
    }

    /// An independent copy.
    public func copy() throws(BloomError) -> SplitBlockBloomFilter {
        let memory = try BloomMemory(zeroedBytes: byteCount)
        memcpy(memory.words, words, byteCount)
        return SplitBlockBloomFilter(memory: memory, layout: layout, capacity: capacity,
                                     falsePositiveRate: targetFalsePositiveRate, itemCount: itemCount)
    }

    // MARK: Statistics

    /// Bits set in the whole filter. O(size).
    public var setBitCount: Int {
        var total = 0
        for i in 0..<(blockCount * 8) { total &+= words[i].nonzeroBitCount }
        return total
    }

    /// Fraction of bits set, in [0, 1].
    public var fillRatio: Double { Double(setBitCount) / Double(blockCount * 512) }

    /// Items estimated from the fill: each item sets b = 1 or 2 bits per word, so a word's
    /// expected fill after a Poisson load of mean λ is 1 - e^(-bλ/64); λ is solved from the
    /// measured fill. Infinite when every bit is set.
    public var estimatedCount: Double {
        let fill = fillRatio
        guard fill < 1 else { return .infinity }
        return -Double(blockCount) * 64 / Double(bitsPerItem / 8) * log1p(-fill)
    }

    /// The false-positive rate of the filter as it is now: the probability that a random
    /// hash finds its bits set, averaged exactly over the blocks (for two bits per word, the
    /// two positions coincide one time in 64). O(size).
    public var currentFalsePositiveRate: Double {
        var total = 0.0
        for b in 0..<blockCount {
            var p = 1.0
            for i in 0..<8 {
                let f = Double(words[b * 8 + i].nonzeroBitCount) / 64
                p *= sixteenBits ? (63 * f * f + f) / 64 : f
            }
            total += p
        }
        return total / Double(blockCount)
    }
}

/// Many byte strings in one buffer: `bytes` holds them back to back and string `i` is
/// `bytes[offsets[i]..<offsets[i + 1]]`. The input of the bulk APIs.
public struct ByteStrings: Sendable {
    /// The strings' bytes, back to back.
    public private(set) var bytes: [UInt8]
    /// `count + 1` offsets into `bytes`.
    public private(set) var offsets: [Int]

    /// An empty list.
    public init() {
        bytes = []
        offsets = [0]
    }

    /// The UTF-8 bytes of `strings`.
    public init<S: Sequence>(_ strings: S) where S.Element == String {
        self.init()
        for s in strings { append(s) }
    }

    /// Number of strings.
    public var count: Int { offsets.count - 1 }

    /// Appends a string's UTF-8 bytes.
    public mutating func append(_ string: String) {
        bytes.append(contentsOf: string.utf8)
        offsets.append(bytes.count)
    }

    /// Appends raw bytes.
    public mutating func append(_ raw: UnsafeRawBufferPointer) {
        bytes.append(contentsOf: raw)
        offsets.append(bytes.count)
    }

    /// Calls `body` with string `i`'s bytes.
    @discardableResult
    public func withString<R>(_ i: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try bytes.withUnsafeBytes { all in
            try body(UnsafeRawBufferPointer(rebasing: all[offsets[i]..<offsets[i + 1]]))
        }
    }

    /// Calls `body` with each string's bytes, in order.
    @inlinable
    public func forEach(_ body: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        try bytes.withUnsafeBytes { all in
            try offsets.withUnsafeBufferPointer { offs in
                // No base address means no bytes: every string is empty.
                guard let base = all.baseAddress ?? UnsafeRawPointer(bitPattern: 0x40) else { return }
                for i in 0..<(offs.count - 1) {
                    try body(UnsafeRawBufferPointer(start: base + offs[i], count: offs[i + 1] - offs[i]))
                }
            }
        }
    }

    /// Hashes the strings `size` at a time into `hashes` and calls `body(n)` after each batch.
    @usableFromInline
    func forEachBatch(size: Int, hashes: UnsafeMutableBufferPointer<UInt64>, _ body: (Int) -> Void) {
        bytes.withUnsafeBytes { all in
            offsets.withUnsafeBufferPointer { offs in
                guard let base = all.baseAddress ?? UnsafeRawPointer(bitPattern: 1) else { return }
                var start = 0
                let total = offs.count - 1
                while start < total {
                    let n = min(size, total - start)
                    for i in 0..<n {
                        let from = offs[start + i], to = offs[start + i + 1]
                        hashes[i] = WyHash.hash(UnsafeRawBufferPointer(start: base + from, count: to - from))
                    }
                    body(n)
                    start += n
                }
            }
        }
    }
}
