import CopilotCore
import CopilotReference

/// `bloom/...` cases: adds and lookups per second of the split-block filter against the
/// Python prototype's classic mmh3 filter, on "item-<i>" string keys at 1% false positives;
/// the bulk cases compare the batched API with the optimized one-by-one path.
enum BloomBenchSuite {
    static let suite = BenchSuite(name: "bloom") { ctx in
        let sizes: [(label: String, count: Int)] = ctx.quick ? [("100k", 100_000)] : [("1M", 1_000_000), ("10M", 10_000_000)]
        return sizes.flatMap { size in cases(label: size.label, count: size.count) }
    }

    /// The keys and filters shared by one size's cases, built once on first use.
    final class Fixture: @unchecked Sendable {
        let keys: ByteStrings
        let optimized: SplitBlockBloomFilter
        let reference: ClassicBloomFilter
        var results: [Bool]

        init(count: Int) throws {
            var keys = ByteStrings()
            for i in 0..<count { keys.append("item-\(i)") }
            self.keys = keys
            let optimized = try SplitBlockBloomFilter(capacity: count, falsePositiveRate: 0.01)
            let reference = try ClassicBloomFilter(capacity: count, falsePositiveRate: 0.01)
            keys.forEach { optimized.insert($0); reference.insert($0) }
            self.optimized = optimized
            self.reference = reference
            results = [Bool](repeating: false, count: count)
        }
    }

    /// Builds a size's fixture lazily so `--list` and `--filter` stay cheap.
    final class LazyFixture: @unchecked Sendable {
        private let count: Int
        private var built: Fixture?
        init(count: Int) { self.count = count }
        func get() throws -> Fixture {
            if let built { return built }
            let f = try Fixture(count: count)
            built = f
            return f
        }
    }

    static func cases(label: String, count: Int) -> [BenchCase] {
        let fixture = LazyFixture(count: count)
        let n = Double(count)
        return [
            BenchCase(name: "bloom/add \(label) keys", unit: "adds", unitsPerOp: n) {
                let f = try fixture.get()
                return BenchOperations(
                    reference: { f.keys.forEach { f.reference.insert($0) } },
                    optimized: { f.keys.forEach { f.optimized.insert($0) } })
            },
            BenchCase(name: "bloom/lookup \(label) keys", unit: "lookups", unitsPerOp: n) {
                let f = try fixture.get()
                return BenchOperations(
                    reference: {
                        var hits = 0
                        f.keys.forEach { if f.reference.contains($0) { hits += 1 } }
                        benchBlackHole(hits)
                    },
                    optimized: {
                        var hits = 0
                        f.keys.forEach { if f.optimized.contains($0) { hits += 1 } }
                        benchBlackHole(hits)
                    })
            },
            BenchCase(name: "bloom/add bulk \(label) keys", unit: "adds", unitsPerOp: n, baselineLabel: "one-by-one") {
                let f = try fixture.get()
                return BenchOperations(
                    reference: { f.keys.forEach { f.optimized.insert($0) } },
                    optimized: { benchBlackHole(f.optimized.insertAll(f.keys)) })
            },
            BenchCase(name: "bloom/lookup bulk \(label) keys", unit: "lookups", unitsPerOp: n, baselineLabel: "one-by-one") {
                let f = try fixture.get()
                return BenchOperations(
                    reference: {
                        var hits = 0
                        f.keys.forEach { if f.optimized.contains($0) { hits += 1 } }
                        benchBlackHole(hits)
                    },
                    optimized: {
                        let hits = f.results.withUnsafeMutableBufferPointer { f.optimized.containsAll(f.keys, into: $0) }
                        benchBlackHole(hits)
                    })
            },
        ]
    }
}
