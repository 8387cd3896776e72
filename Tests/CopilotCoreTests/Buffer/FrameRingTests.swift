import CopilotCore
import CopilotReference
import Foundation
import Testing

@Suite struct BufferFrameRingTests {
    @Test func evictsOldestFramesByBytes() throws {
        let ring = try FrameRing(capacityBytes: 10, maximumFrames: 100)
        for i in 0..<5 {
            let frame = [UInt8](repeating: UInt8(i), count: 4)
            frame.withUnsafeBytes { ring.push($0, captureTime: Double(i), duration: 1) }
        }
        #expect(ring.frameCount == 2)
        #expect(ring.byteCount == 8)
        #expect(ring.evictedFrames == 3)
        #expect(ring.timing(at: 0).captureTime == 3)
        #expect(ring.endTime == 5)
    }

    @Test func evictsByFrameCount() throws {
        let ring = try FrameRing(capacityBytes: 1000, maximumFrames: 3)
        for i in 0..<7 {
            [UInt8(i)].withUnsafeBytes { ring.push($0, captureTime: Double(i), duration: 1) }
        }
        #expect(ring.frameCount == 3)
        var out = [UInt8](repeating: 0, count: 1000)
        let got = out.withUnsafeMutableBytes { ring.copyLast(seconds: 100, into: $0) }
        #expect(Array(out[..<got.byteCount]) == [4, 5, 6])
        #expect(got.startTime == 4)
    }

    @Test func lastSecondsSelectsOverlappingFrames() throws {
        let ring = try FrameRing(capacityBytes: 1 << 16, maximumFrames: 64)
        for i in 0..<10 {
            let frame = [UInt8](repeating: UInt8(i), count: 100)
            frame.withUnsafeBytes { ring.push($0, captureTime: Double(i) * 0.1, duration: 0.1) }
        }
        #expect(ring.firstFrameIndex(inLast: 0.25) == 7, "0.75...1.0 overlaps frames 7, 8 and 9")
        #expect(ring.firstFrameIndex(inLast: 0.29) == 7)
        #expect(ring.firstFrameIndex(inLast: 50) == 0)
        #expect(ring.firstFrameIndex(inLast: 0) == 10)
        var out = [UInt8](repeating: 0, count: 1 << 16)
        let got = out.withUnsafeMutableBytes { ring.copyLast(seconds: 0.25, into: $0) }
        #expect(got.byteCount == 300)
        #expect(out[0] == 7 && out[299] == 9)
    }

    @Test func oversizedFrameKeepsItsNewestBytes() throws {
        let ring = try FrameRing(capacityBytes: 4, maximumFrames: 4)
        let frame: [UInt8] = [1, 2, 3, 4, 5, 6, 7, 8]
        frame.withUnsafeBytes { ring.push($0, captureTime: 0, duration: 2) }
        #expect(ring.byteCount == 4)
        #expect(ring.timing(at: 0).captureTime == 1)
        ring.withBytes(ofFrame: 0) { a, b in #expect(Array(a) + Array(b) == [5, 6, 7, 8]) }
        #expect(throws: BufferError.self) { try FrameRing(capacityBytes: 0, maximumFrames: 1) }
    }

    /// Random frame sizes wrap the byte store at every position; the ring agrees with the
    /// Python-style deque on what it keeps and what the last N seconds are.
    @Test(arguments: [7, 64, 1000])
    func matchesFrameDeque(capacityBytes: Int) throws {
        let ring = try FrameRing(capacityBytes: capacityBytes, maximumFrames: 9)
        let deque = FrameDeque(capacityBytes: capacityBytes, maximumFrames: 9)
        var random = SplitMix64(seed: UInt64(capacityBytes))
        var time = 0.0
        var out = [UInt8](repeating: 0, count: capacityBytes)
        for step in 0..<2000 {
            let size = Int.random(in: 1...(capacityBytes / 3 + 2), using: &random)
            let frame = (0..<size).map { _ in UInt8.random(in: 0...255, using: &random) }
            let duration = Double(size) / 100
            frame.withUnsafeBytes { ring.push($0, captureTime: time, duration: duration) }
            deque.push(frame, captureTime: time, duration: duration)
            time += duration
            #expect(ring.frameCount == deque.frameCount)
            #expect(ring.byteCount == deque.byteCount)
            #expect(ring.evictedFrames == deque.evictedFrames)
            let seconds = Double.random(in: 0...(Double(capacityBytes) / 100), using: &random)
            let got = out.withUnsafeMutableBytes { ring.copyLast(seconds: seconds, into: $0) }
            let expected = deque.last(seconds: seconds)
            #expect(Array(out[..<got.byteCount]) == expected.bytes, "step \(step)")
            #expect(got.startTime == expected.startTime)
        }
    }
}
