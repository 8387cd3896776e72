import CopilotCore
import CopilotReference
import Foundation
import Testing

@Suite struct BufferSPSCRingTests {
    @Test func capacityIsRoundedUpToAPowerOfTwo() throws {
        #expect(try SPSCRing<Float>(minimumCapacity: 1, policy: .block).capacity == 1)
        #expect(try SPSCRing<Float>(minimumCapacity: 5, policy: .block).capacity == 8)
        #expect(try SPSCRing<UInt8>(minimumCapacity: 1024, policy: .dropOldest).capacity == 1024)
        #expect(throws: BufferError.self) { try SPSCRing<Float>(minimumCapacity: 0, policy: .block) }
        #expect(throws: BufferError.self) { try SPSCRing<Int16>(minimumCapacity: -3, policy: .block) }
    }

    /// Both implementations, driven by the same random calls from every starting offset,
    /// return the same counts, the same elements and the same statistics.
    @Test(arguments: [1, 2, 4, 8, 16], RingFullPolicy.allCases)
    func matchesLockedQueueFromEveryOffset(capacity: Int, policy: RingFullPolicy) throws {
        for offset in 0..<(2 * capacity + 1) {
            let ring = try SPSCRing<Int32>(minimumCapacity: capacity, policy: policy)
            let queue = try LockedQueue<Int32>(capacity: capacity, policy: policy)
            var next: Int32 = 0
            var scratch = [Int32](repeating: -1, count: capacity + 3)
            var scratch2 = scratch
            // Move both to `offset` without touching the statistics' overruns.
            for _ in 0..<offset {
                let one = [next]
                next += 1
                one.withUnsafeBufferPointer { #expect(ring.tryWrite(from: $0) == 1 && queue.tryWrite(from: $0) == 1) }
                scratch.withUnsafeMutableBufferPointer { #expect(ring.tryRead(into: UnsafeMutableBufferPointer(rebasing: $0[..<1])) == 1) }
                scratch2.withUnsafeMutableBufferPointer { #expect(queue.tryRead(into: UnsafeMutableBufferPointer(rebasing: $0[..<1])) == 1) }
            }
            var random = SplitMix64(seed: UInt64(capacity * 1000 + offset))
            for _ in 0..<200 {
                let size = Int.random(in: 0...(capacity + 2), using: &random)
                if Bool.random(using: &random) {
                    let block = (0..<size).map { Int32($0) + next }
                    next += Int32(size)
                    let written = block.withUnsafeBufferPointer { (ring.tryWrite(from: $0), queue.tryWrite(from: $0)) }
                    #expect(written.0 == written.1, "write \(size) at offset \(offset)")
                } else {
                    let a = scratch.withUnsafeMutableBufferPointer { ring.tryRead(into: UnsafeMutableBufferPointer(rebasing: $0[..<size])) }
                    let b = scratch2.withUnsafeMutableBufferPointer { queue.tryRead(into: UnsafeMutableBufferPointer(rebasing: $0[..<size])) }
                    #expect(a == b)
                    #expect(scratch[..<a] == scratch2[..<b], "read \(size) at offset \(offset)")
                }
                #expect(ring.count == queue.count)
                #expect(ring.statistics == queue.statistics)
            }
        }
    }

    @Test(arguments: [1, 2, 4, 8, 16])
    func regionsCoverTheFreeAndFilledSpaceAtEveryOffset(capacity: Int) throws {
        for offset in 0..<capacity {
            for fill in 0...capacity {
                let ring = try SPSCRing<UInt8>(minimumCapacity: capacity, policy: .block)
                var sink = [UInt8](repeating: 0, count: capacity)
                let pad = [UInt8](repeating: 0, count: offset)
                pad.withUnsafeBufferPointer { _ = ring.tryWrite(from: $0) }
                sink.withUnsafeMutableBufferPointer { _ = ring.tryRead(into: $0) }
                let data = (0..<fill).map { UInt8($0 + 1) }
                data.withUnsafeBufferPointer { #expect(ring.tryWrite(from: $0) == fill) }
                let free = ring.writableRegions(atLeast: capacity)
                #expect(free.first.count + free.second.count == capacity - fill)
                let filled = ring.readableRegions(atLeast: capacity)
                #expect(filled.first.count + filled.second.count == fill)
                #expect(Array(filled.first) + Array(filled.second) == data)
                // The filled space wraps exactly at the end of the storage.
                if !filled.second.isEmpty { #expect(filled.first.count == capacity - offset) }
            }
        }
    }

    @Test func commitThroughRegionsWrapsCorrectly() throws {
        let ring = try SPSCRing<Float>(minimumCapacity: 8, policy: .block)
        var out = [Float](repeating: 0, count: 8)
        let six: [Float] = [1, 2, 3, 4, 5, 6]
        six.withUnsafeBufferPointer { _ = ring.tryWrite(from: $0) }
        out.withUnsafeMutableBufferPointer { _ = ring.tryRead(into: UnsafeMutableBufferPointer(rebasing: $0[..<5])) }
        let regions = ring.writableRegions(atLeast: 7)
        #expect(regions.first.count == 2 && regions.second.count == 5)
        regions.first[0] = 7
        regions.first[1] = 8
        regions.second[0] = 9
        ring.commitWrite(3)
        let n = out.withUnsafeMutableBufferPointer { ring.tryRead(into: $0) }
        #expect(Array(out[..<n]) == [6, 7, 8, 9])
    }

    @Test func dropOldestCountsExactOverruns() throws {
        let ring = try SPSCRing<Int16>(minimumCapacity: 8, policy: .dropOldest)
        let ten = (0..<10).map(Int16.init)
        ten.withUnsafeBufferPointer { #expect(ring.write(from: $0) == 10) }
        #expect(ring.statistics.overruns == 2)
        #expect(ring.statistics.peakFill == 8)
        let three: [Int16] = [100, 101, 102]
        three.withUnsafeBufferPointer { #expect(ring.tryWrite(from: $0) == 3) }
        #expect(ring.statistics.overruns == 5)
        var out = [Int16](repeating: 0, count: 16)
        let n = out.withUnsafeMutableBufferPointer { ring.tryRead(into: $0) }
        #expect(Array(out[..<n]) == [5, 6, 7, 8, 9, 100, 101, 102])
        // A write longer than the ring keeps its newest elements.
        let twenty = (0..<20).map { Int16($0 + 200) }
        twenty.withUnsafeBufferPointer { #expect(ring.write(from: $0) == 20) }
        #expect(ring.statistics.overruns == 17)
        let m = out.withUnsafeMutableBufferPointer { ring.tryRead(into: $0) }
        #expect(Array(out[..<m]) == (212..<220).map(Int16.init))
    }

    @Test func evictionsKeepWholeSampleFrames() throws {
        // Three-element frames in an 8-element ring: evicting one element would split a frame.
        let ring = try SPSCRing<Int16>(minimumCapacity: 8, policy: .dropOldest, evictionGranule: 3)
        let six: [Int16] = [0, 1, 2, 3, 4, 5]
        let three: [Int16] = [6, 7, 8]
        six.withUnsafeBufferPointer { _ = ring.write(from: $0) }
        three.withUnsafeBufferPointer { _ = ring.write(from: $0) }
        #expect(ring.statistics.overruns == 3)
        var out = [Int16](repeating: 0, count: 8)
        let n = out.withUnsafeMutableBufferPointer { ring.tryRead(into: $0) }
        #expect(Array(out[..<n]) == [3, 4, 5, 6, 7, 8])
    }

    @Test func underrunsAndCloseEndTheStream() throws {
        let ring = try SPSCRing<Float>(minimumCapacity: 4, policy: .block)
        var out = [Float](repeating: 0, count: 4)
        #expect(out.withUnsafeMutableBufferPointer { ring.tryRead(into: $0) } == 0)
        #expect(ring.statistics.underruns == 1)
        let two: [Float] = [0.5, -0.5]
        two.withUnsafeBufferPointer { _ = ring.write(from: $0) }
        ring.close()
        #expect(out.withUnsafeMutableBufferPointer { ring.read(into: $0) } == 2)
        #expect(out.withUnsafeMutableBufferPointer { ring.read(into: $0) } == 0)
        #expect(ring.statistics.underruns == 1, "reading a closed, drained ring is the end, not an underrun")
        #expect(two.withUnsafeBufferPointer { ring.write(from: $0) } == 0)
    }

    @Test func closeReleasesABlockedProducer() throws {
        let ring = try SPSCRing<UInt8>(minimumCapacity: 16, policy: .block)
        let written = Counter()
        let producer = try WorkerThread {
            let data = [UInt8](repeating: 7, count: 64)
            written.value = data.withUnsafeBufferPointer { ring.write(from: $0) }
        }
        while ring.count < 16 { usleep(100) }
        ring.close()
        producer.join()
        #expect(written.value == 16)
    }

    @Test func blockedConsumerWakesWhenDataArrives() throws {
        let ring = try SPSCRing<Int32>(minimumCapacity: 4, policy: .block)
        let got = Counter()
        let consumer = try WorkerThread {
            var out = [Int32](repeating: 0, count: 4)
            got.value = out.withUnsafeMutableBufferPointer { ring.read(into: $0) }
        }
        usleep(20_000)
        let one: [Int32] = [42]
        one.withUnsafeBufferPointer { _ = ring.write(from: $0) }
        consumer.join()
        #expect(got.value == 1)
    }
}

/// A box written by one thread and read after `join()`.
final class Counter: @unchecked Sendable {
    var value = 0
}
