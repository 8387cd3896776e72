import CopilotCore
import CopilotReference
import Foundation
import Testing

@Suite struct ClassicBloomFilterTests {
    @Test func textbookSizing() throws {
        let f = try ClassicBloomFilter(capacity: 1_000_000, falsePositiveRate: 0.01)
        #expect(f.bitCount == 9_585_059)  // ⌈-n ln p / ln²2⌉
        #expect(f.hashCount == 7)
        #expect(throws: BloomError.self) { try ClassicBloomFilter(capacity: 0, falsePositiveRate: 0.01) }
        #expect(throws: BloomError.self) { try ClassicBloomFilter(capacity: 10, falsePositiveRate: 1) }
    }

    /// The reference runs in the debug test build, so it gets 200k keys and 1M absent keys;
    /// tolerance as for the optimized filter: [0.5, 1.5]x the target.
    @Test(arguments: [0.01, 0.001])
    func falsePositiveRateOnAMillionAbsentKeys(target: Double) throws {
        let capacity = 200_000
        let filter = try ClassicBloomFilter(capacity: capacity, falsePositiveRate: target)
        BloomTestKeys.forEach("ins:", 0..<capacity) { filter.insert($0) }
        var hits = 0
        let absent = 1_000_000
        BloomTestKeys.forEach("abs:", 0..<absent) { if filter.contains($0) { hits += 1 } }
        let measured = Double(hits) / Double(absent)
        #expect(measured <= 1.5 * target && measured >= 0.5 * target, "measured \(measured) for target \(target)")
        #expect(abs(filter.estimatedCount - Double(capacity)) < Double(capacity) * 0.02)
    }

    /// Differential: on the same inputs neither filter ever gives a false negative, and their
    /// answers on absent keys differ only by false positives at the promised rates.
    @Test func differentialAgainstSplitBlock() throws {
        let optimized = try SplitBlockBloomFilter(capacity: 20_000, falsePositiveRate: 0.01)
        let reference = try ClassicBloomFilter(capacity: 20_000, falsePositiveRate: 0.01)
        var sizes = 0
        for i in 0..<20_000 {
            // Many sizes: 0 to 99 bytes, including the empty key.
            let key = [UInt8]((0..<(i % 100)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ i) })
            key.withUnsafeBytes { b in
                let newOptimized = optimized.insert(b)
                let newReference = reference.insert(b)
                if i < 100 { sizes += newOptimized == newReference ? 1 : 0 }
                #expect(optimized.contains(b) && reference.contains(b))
            }
        }
        #expect(sizes >= 95)
        var disagree = 0
        BloomTestKeys.forEach("abs:", 0..<20_000) { b in
            if optimized.contains(b) != reference.contains(b) { disagree += 1 }
        }
        #expect(disagree < 20_000 * 3 / 100, "\(disagree) disagreements")
        #expect(abs(optimized.estimatedCount - reference.estimatedCount) < 800)
    }

    @Test func unionAndIntersection() throws {
        let a = try ClassicBloomFilter(capacity: 5000, falsePositiveRate: 0.01)
        let b = try ClassicBloomFilter(capacity: 5000, falsePositiveRate: 0.01)
        BloomTestKeys.forEach("aaa:", 0..<1000) { a.insert($0) }
        BloomTestKeys.forEach("bbb:", 0..<1000) { b.insert($0) }
        BloomTestKeys.forEach("both", 0..<1000) { a.insert($0); b.insert($0) }
        try a.formUnion(b)
        var missing = 0
        for tag: StaticString in ["aaa:", "bbb:", "both"] {
            BloomTestKeys.forEach(tag, 0..<1000) { if !a.contains($0) { missing += 1 } }
        }
        #expect(missing == 0)
        try b.formIntersection(a)
        BloomTestKeys.forEach("both", 0..<1000) { if !b.contains($0) { missing += 1 } }
        #expect(missing == 0)
        #expect(throws: BloomError.self) { try a.formUnion(ClassicBloomFilter(capacity: 9, falsePositiveRate: 0.01)) }
    }
}
