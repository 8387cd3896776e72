#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Adds and lookups per second of ``SplitBlockBloomFilter`` on a peer-comparable workload:
/// `count` keys "item-0" ... "item-<count-1>" into a filter sized for them, one by one and in
/// bulk, each figure the best of `repeats` runs (the least disturbed by other processes),
/// timed in thread CPU time.
/// What `copilot bloom speed` prints for `benchmarks/bloom_vs_rbloom.py`.
package struct BloomThroughput: Codable, Equatable, Sendable {
    /// Keys per run.
    package var keys: Int
    /// Target false-positive rate of the filter.
    package var fpRate: Double
    /// Runs per figure.
    package var repeats: Int
    /// Adds per second, one `insert` call per key, into an empty filter.
    package var addsPerSecond: Double
    /// Lookups per second of present keys, one `contains` call per key.
    package var lookupsPerSecond: Double
    /// Adds per second through `insertAll`.
    package var bulkAddsPerSecond: Double
    /// Lookups per second through `containsAll`.
    package var bulkLookupsPerSecond: Double

    enum CodingKeys: String, CodingKey {
        case keys, fpRate = "fp_rate", repeats, addsPerSecond = "adds_per_s", lookupsPerSecond = "lookups_per_s"
        case bulkAddsPerSecond = "bulk_adds_per_s", bulkLookupsPerSecond = "bulk_lookups_per_s"
    }

    /// Runs the measurement. O(count × repeats).
    package static func measure(keys count: Int, fpRate: Double, repeats: Int) throws -> BloomThroughput {
        var keys = ByteStrings()
        for i in 0..<count { keys.append("item-\(i)") }
        var results = [Bool](repeating: false, count: count)
        var best = [Double](repeating: .infinity, count: 4)
        for _ in 0..<max(1, repeats) {
            let one = try SplitBlockBloomFilter(capacity: count, falsePositiveRate: fpRate)
            best[0] = min(best[0], seconds { keys.forEach { one.insert($0) } })
            best[1] = min(best[1], seconds {
                var hits = 0
                keys.forEach { hits &+= one.contains($0) ? 1 : 0 }
                precondition(hits == count, "false negative in the speed run")
            })
            let bulk = try SplitBlockBloomFilter(capacity: count, falsePositiveRate: fpRate)
            best[2] = min(best[2], seconds { _ = bulk.insertAll(keys) })
            best[3] = min(best[3], seconds {
                let hits = results.withUnsafeMutableBufferPointer { bulk.containsAll(keys, into: $0) }
                precondition(hits == count, "false negative in the speed run")
            })
        }
        let n = Double(count)
        return BloomThroughput(keys: count, fpRate: fpRate, repeats: repeats, addsPerSecond: n / best[0],
                               lookupsPerSecond: n / best[1], bulkAddsPerSecond: n / best[2], bulkLookupsPerSecond: n / best[3])
    }

    /// One JSON object.
    package var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: (try? encoder.encode(self)) ?? Data("{}".utf8), as: UTF8.self) + "\n"
    }

    /// CPU time of the calling thread spent in `body`: on a shared machine, wall time also
    /// counts the time other processes held the core.
    private static func seconds(_ body: () -> Void) -> Double {
        var start = timespec(), end = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &start)
        body()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &end)
        return Double(end.tv_sec - start.tv_sec) + Double(end.tv_nsec - start.tv_nsec) / 1e9
    }
}
