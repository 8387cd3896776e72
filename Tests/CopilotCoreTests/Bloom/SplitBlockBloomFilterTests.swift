import CopilotCore
import CopilotReference
import Foundation
import Testing

@Suite struct SplitBlockBloomFilterTests {
    /// Measured rate on 1M absent keys after adding `capacity` keys; the promise is the target
    /// within [0.5, 1.5]x (the sizing model is exact up to hash quality, so both sides bound).
    /// Both layouts: 8 bits per item (what 1% and 0.1% get) and 16 (what rates below about
    /// 1e-4 get; forced here at 1e-4 so that 1M absent keys still expect 100 false positives).
    @Test(arguments: [(0.01, 8), (0.001, 8), (0.0001, 16)])
    func falsePositiveRateOnAMillionAbsentKeys(target: Double, bitsPerItem: Int) throws {
        let capacity = 1_000_000
        let filter = try SplitBlockBloomFilter(capacity: capacity, falsePositiveRate: target, bitsPerItem: bitsPerItem)
        BloomTestKeys.forEach("ins:", 0..<capacity) { filter.insert($0) }
        var missed = 0
        BloomTestKeys.forEach("ins:", 0..<capacity) { if !filter.contains($0) { missed += 1 } }
        #expect(missed == 0, "false negatives")
        var hits = 0
        let absent = 1_000_000
        BloomTestKeys.forEach("abs:", 0..<absent) { if filter.contains($0) { hits += 1 } }
        let measured = Double(hits) / Double(absent)
        #expect(measured <= 1.5 * target && measured >= 0.5 * target, "measured \(measured) for target \(target)")
        // The exact current rate agrees with the measurement.
        #expect(abs(filter.currentFalsePositiveRate - measured) < 0.2 * target)
        #expect(filter.itemCount <= capacity && filter.itemCount > capacity - capacity / 50)
        #expect(abs(filter.estimatedCount - Double(capacity)) < Double(capacity) / 50)
    }

    @Test func sizingIsMonotoneAndRefusesBadInput() throws {
        let a = try SplitBlockSizing.layout(capacity: 1000, falsePositiveRate: 0.01).blockCount
        let b = try SplitBlockSizing.layout(capacity: 1000, falsePositiveRate: 0.001).blockCount
        let c = try SplitBlockSizing.layout(capacity: 2000, falsePositiveRate: 0.01).blockCount
        #expect(a < b && a < c)
        #expect(SplitBlockSizing.falsePositiveRate(items: 1000, blockCount: a) <= 0.01)
        #expect(SplitBlockSizing.falsePositiveRate(items: 1000, blockCount: a - 1) > 0.01)
        #expect(try SplitBlockSizing.layout(capacity: 1, falsePositiveRate: 0.5) == SplitBlockLayout(blockCount: 1, bitsPerItem: 8))
        // Low rates switch to 16 bits per item, which needs fewer blocks there.
        let low = try SplitBlockSizing.layout(capacity: 100_000, falsePositiveRate: 1e-6)
        let low8 = try SplitBlockSizing.blockCount(capacity: 100_000, falsePositiveRate: 1e-6, bitsPerItem: 8)
        #expect(low.bitsPerItem == 16 && Double(low.blockCount) < Double(low8) * 0.8)
        #expect(SplitBlockSizing.falsePositiveRate(items: 100_000, blockCount: low.blockCount, bitsPerItem: 16) <= 1e-6)
        #expect(throws: BloomError.capacityTooSmall(0)) { try SplitBlockBloomFilter(capacity: 0, falsePositiveRate: 0.01) }
        #expect(throws: BloomError.capacityTooSmall(-5)) { try SplitBlockBloomFilter(capacity: -5, falsePositiveRate: 0.01) }
        for p in [0.0, 1.0, -0.1, 2, Double.nan, Double.infinity] {
            #expect(throws: BloomError.self) { try SplitBlockBloomFilter(capacity: 10, falsePositiveRate: p) }
        }
        #expect(throws: BloomError.self) { try SplitBlockBloomFilter(capacity: Int.max, falsePositiveRate: 0.01) }
        #expect(throws: BloomError.self) { try SplitBlockBloomFilter(capacity: 1000, falsePositiveRate: 1e-300) }
    }

    @Test func dedupDefaultSizeIsModest() throws {
        let bytes = try SplitBlockSizing.layout(capacity: 10_000_000, falsePositiveRate: 1e-6).blockCount * 64
        #expect(bytes < 50 << 20, "\(bytes) bytes")
    }

    @Test(arguments: [0.01, 1e-6])
    func estimatedCountFollowsDistinctItems(rate: Double) throws {
        let filter = try SplitBlockBloomFilter(capacity: 200_000, falsePositiveRate: rate)
        #expect(filter.estimatedCount == 0)
        BloomTestKeys.forEach("ins:", 0..<100_000) { filter.insert($0) }
        BloomTestKeys.forEach("ins:", 0..<100_000) { filter.insert($0) }  // duplicates change nothing
        #expect(abs(filter.estimatedCount - 100_000) < 2_000, "\(filter.estimatedCount)")
        #expect(filter.itemCount <= 100_000 && filter.itemCount > 99_000)
    }

    @Test func unionAndIntersection() throws {
        let a = try SplitBlockBloomFilter(capacity: 10_000, falsePositiveRate: 0.01)
        let b = try SplitBlockBloomFilter(capacity: 10_000, falsePositiveRate: 0.01)
        BloomTestKeys.forEach("aaa:", 0..<3000) { a.insert($0) }
        BloomTestKeys.forEach("bbb:", 0..<3000) { b.insert($0) }
        BloomTestKeys.forEach("both", 0..<2000) { a.insert($0); b.insert($0) }

        let union = try a.copy()
        try union.formUnion(b)
        var missing = 0
        for tag: StaticString in ["aaa:", "bbb:", "both"] {
            BloomTestKeys.forEach(tag, 0..<2000) { if !union.contains($0) { missing += 1 } }
        }
        #expect(missing == 0)
        #expect(abs(union.estimatedCount - 8000) < 400)

        let both = try a.copy()
        try both.formIntersection(b)
        BloomTestKeys.forEach("both", 0..<2000) { if !both.contains($0) { missing += 1 } }
        #expect(missing == 0)
        var onlyA = 0
        BloomTestKeys.forEach("aaa:", 0..<3000) { if both.contains($0) { onlyA += 1 } }
        #expect(onlyA < 150, "\(onlyA) of 3000 one-sided keys survive the intersection")

        let other = try SplitBlockBloomFilter(capacity: 20_000, falsePositiveRate: 0.01)
        #expect(throws: BloomError.self) { try a.formUnion(other) }
        #expect(throws: BloomError.self) { try a.formIntersection(other) }
    }

    @Test(arguments: [0.01, 1e-6])
    func bulkMatchesOneByOne(rate: Double) throws {
        var keys = ByteStrings()
        for i in 0..<5000 { keys.append("key-\(i)") }
        keys.append("")
        let one = try SplitBlockBloomFilter(capacity: 5000, falsePositiveRate: rate)
        let bulk = try SplitBlockBloomFilter(capacity: 5000, falsePositiveRate: rate)
        for i in 0..<keys.count { keys.withString(i) { one.insert($0) } }
        #expect(bulk.insertAll(keys) == one.itemCount)
        #expect(Array(one.bits) == Array(bulk.bits))

        var probes = ByteStrings()
        for i in 2500..<7500 { probes.append("key-\(i)") }
        var results = [Bool](repeating: false, count: probes.count)
        let present = results.withUnsafeMutableBufferPointer { bulk.containsAll(probes, into: $0) }
        for i in 0..<probes.count {
            #expect(results[i] == probes.withString(i) { one.contains($0) })
        }
        #expect(present == results.filter { $0 }.count)
        #expect(present >= 2500)
    }

    @Test(arguments: [0.01, 1e-6])
    func concurrentAddsLoseNothing(rate: Double) throws {
        let filter = try ConcurrentSplitBlockBloomFilter(capacity: 200_000, falsePositiveRate: rate)
        let threads = 4, perThread = 50_000
        // Interleaved key ranges, so the threads keep hitting the same blocks at the same time.
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            BloomTestKeys.forEach("conc", 0..<perThread) { key in
                var k = Array(key)
                k.withUnsafeMutableBytes { b in
                    let i = UInt64(littleEndian: b.loadUnaligned(fromByteOffset: 4, as: UInt64.self))
                    b.storeBytes(of: (i &* UInt64(threads) &+ UInt64(t)).littleEndian, toByteOffset: 4, as: UInt64.self)
                    filter.insert(UnsafeRawBufferPointer(b))
                }
            }
        }
        var missing = 0
        BloomTestKeys.forEach("conc", 0..<(threads * perThread)) { if !filter.contains($0) { missing += 1 } }
        #expect(missing == 0)

        // The same keys added by one thread to the plain filter give the same bits.
        let plain = try SplitBlockBloomFilter(capacity: 200_000, falsePositiveRate: rate)
        BloomTestKeys.forEach("conc", 0..<(threads * perThread)) { plain.insert($0) }
        let snapshot = try filter.snapshot()
        #expect(Array(snapshot.bits) == Array(plain.bits))
        #expect(abs(snapshot.itemCount - plain.itemCount) < 100)
    }

    @Test func emptyAndBinaryKeysAreItems() throws {
        let filter = try SplitBlockBloomFilter(capacity: 100, falsePositiveRate: 0.001)
        #expect(!filter.contains(""))
        #expect(filter.insert(""))
        #expect(!filter.insert(""))
        #expect(filter.contains(""))
        let binary: [UInt8] = [0, 0xff, 0x0a, 0x80, 0xc3]
        binary.withUnsafeBytes { b in
            #expect(filter.insert(b))
            #expect(filter.contains(b))
        }
    }
}
