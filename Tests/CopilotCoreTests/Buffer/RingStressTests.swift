import CopilotCore
import CopilotReference
import Foundation
import Testing

/// Two real threads through one queue: a sequence counter checks that nothing is lost,
/// duplicated or reordered; bounded by element count, never by time.
@Suite struct BufferRingStressTests {
    /// Producer writes 0..<total in random block sizes; returns what the consumer saw.
    static func transfer<Q: SampleQueue>(
        _ queue: Q, total: Int, maxBlock: Int, seed: UInt64
    ) throws -> (received: [Int32], lastOverruns: Int) where Q.Element == Int32 {
        let received = Box()
        let consumer = try WorkerThread {
            var random = SplitMix64(seed: seed ^ 0xFF)
            var out = [Int32](repeating: 0, count: maxBlock)
            var all: [Int32] = []
            all.reserveCapacity(total)
            while true {
                let size = Int.random(in: 1...maxBlock, using: &random)
                let n = out.withUnsafeMutableBufferPointer { queue.read(into: UnsafeMutableBufferPointer(rebasing: $0[..<size])) }
                if n == 0 { break }
                all.append(contentsOf: out[..<n])
            }
            received.values = all
        }
        var random = SplitMix64(seed: seed)
        let source = (0..<Int32(total)).map { $0 }
        var sent = 0
        source.withUnsafeBufferPointer { all in
            while sent < total {
                let size = min(Int.random(in: 1...maxBlock, using: &random), total - sent)
                sent += queue.write(from: UnsafeBufferPointer(rebasing: all[sent..<(sent + size)]))
            }
        }
        queue.close()
        consumer.join()
        return (received.values, queue.statistics.overruns)
    }

    @Test(arguments: [(1, 20_000), (16, 400_000), (1024, 2_000_000)])
    func blockPolicyLosesNothing(capacity: Int, total: Int) throws {
        let ring = try SPSCRing<Int32>(minimumCapacity: capacity, policy: .block)
        let (received, overruns) = try Self.transfer(ring, total: total, maxBlock: 3 * capacity / 2 + 1, seed: UInt64(capacity))
        #expect(overruns == 0)
        #expect(received.count == total)
        #expect(received == (0..<Int32(total)).map { $0 })
        #expect(ring.statistics.peakFill <= ring.capacity && ring.statistics.peakFill > 0)
    }

    @Test func referenceQueueLosesNothingEither() throws {
        let queue = try LockedQueue<Int32>(capacity: 64, policy: .block)
        let (received, _) = try Self.transfer(queue, total: 100_000, maxBlock: 97, seed: 3)
        #expect(received == (0..<Int32(100_000)).map { $0 })
    }

    /// Under dropOldest the consumer may miss elements but never sees one twice, out of
    /// order or torn, and delivered + overruns accounts for every element written. Small
    /// rings make the producer evict everything unread on most writes, so the consumer often
    /// finds the ring empty between the producer's claim and its publication: the end of the
    /// stream must still come only from `close()`.
    @Test(arguments: [1, 4, 64, 4096])
    func dropOldestKeepsOrderAndAccounts(capacity: Int) throws {
        let total = 500_000
        let ring = try SPSCRing<Int32>(minimumCapacity: capacity, policy: .dropOldest)
        let (received, overruns) = try Self.transfer(ring, total: total, maxBlock: capacity + 3, seed: 11)
        var previous: Int32 = -1
        var ordered = true
        for value in received {
            if value <= previous || value >= Int32(total) { ordered = false }
            previous = value
        }
        #expect(ordered)
        #expect(received.count + overruns == total)
        #expect(received.last == Int32(total - 1), "the newest element is never dropped")
    }

    @Test func regionAPIAcrossThreads() throws {
        let ring = try SPSCRing<UInt8>(minimumCapacity: 256, policy: .block)
        let total = 3_000_000
        let sum = Box()
        let consumer = try WorkerThread {
            var expected: UInt8 = 0
            var count = 0
            var good = true
            while ring.waitUntilReadable(1) || ring.count > 0 {
                let regions = ring.readableRegions()
                for part in [regions.first, regions.second] {
                    for byte in part {
                        if byte != expected { good = false }
                        expected &+= 1
                    }
                }
                count += regions.first.count + regions.second.count
                ring.commitRead(regions.first.count + regions.second.count)
            }
            sum.values = [Int32(count), good ? 1 : 0]
        }
        var next: UInt8 = 0
        var sent = 0
        while sent < total {
            guard ring.waitUntilWritable(1) else { break }
            let regions = ring.writableRegions()
            let n = min(regions.first.count + regions.second.count, total - sent, 77)
            for i in 0..<n {
                if i < regions.first.count { regions.first[i] = next } else { regions.second[i - regions.first.count] = next }
                next &+= 1
            }
            ring.commitWrite(n)
            sent += n
        }
        ring.close()
        consumer.join()
        #expect(sum.values == [Int32(total), 1])
    }
}

/// Written by one thread, read after `join()`.
final class Box: @unchecked Sendable {
    var values: [Int32] = []
}
