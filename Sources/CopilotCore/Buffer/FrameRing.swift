#if canImport(Glibc)
import Glibc
#endif

/// Where one frame of a ``FrameRing`` came from in time.
public struct FrameTiming: Sendable, Equatable {
    /// Capture time of the frame's first byte, in seconds (stream position or clock time).
    public var captureTime: Double
    /// Seconds the frame covers.
    public var duration: Double
    /// Bytes in the frame.
    public var byteCount: Int

    /// Creates a timing record.
    public init(captureTime: Double, duration: Double, byteCount: Int) {
        self.captureTime = captureTime
        self.duration = duration
        self.byteCount = byteCount
    }

    /// Capture time just after the frame's last byte.
    public var endTime: Double { captureTime + duration }
}

/// A ring of variable-length frames with their capture times, bounded by bytes and by frame
/// count, evicting the oldest frames first: "the last N seconds" of audio for pre-roll.
///
/// Bytes live in one circular byte store (a frame may wrap), frame records in a circular
/// array; both are allocated in `init`, so pushing never allocates. Not thread-safe: one
/// owner, or a lock around it.
public final class FrameRing {
    /// Bytes the ring holds at most.
    public let capacityBytes: Int
    /// Frames the ring holds at most.
    public let maximumFrames: Int

    private let bytes: UnsafeMutableRawPointer
    // Raw storage, not arrays: an array stored in a class pays a dynamic exclusivity check on
    // every element write, which cost more than the frame copy itself.
    private let records: UnsafeMutablePointer<FrameTiming>
    private let offsets: UnsafeMutablePointer<Int>
    private var firstFrame = 0
    /// Frames held now.
    public private(set) var frameCount = 0
    /// Bytes held now.
    public private(set) var byteCount = 0
    /// Frames evicted so far (oldest first) to make room.
    public private(set) var evictedFrames = 0
    /// Bytes evicted so far, including the head of a frame longer than the whole capacity.
    public private(set) var evictedBytes = 0
    private var writeOffset = 0

    /// Creates a ring of `capacityBytes` bytes and up to `maximumFrames` frames.
    public init(capacityBytes: Int, maximumFrames: Int) throws {
        let limit = 1 << 34
        guard capacityBytes >= 1 && capacityBytes <= limit else {
            throw BufferError.invalidCapacity(what: "frame ring byte", requested: capacityBytes, limit: limit)
        }
        guard maximumFrames >= 1 && maximumFrames <= 1 << 24 else {
            throw BufferError.invalidCapacity(what: "frame ring frame", requested: maximumFrames, limit: 1 << 24)
        }
        self.capacityBytes = capacityBytes
        self.maximumFrames = maximumFrames
        bytes = .allocate(byteCount: capacityBytes, alignment: 64)
        records = .allocate(capacity: maximumFrames)
        records.initialize(repeating: FrameTiming(captureTime: 0, duration: 0, byteCount: 0), count: maximumFrames)
        offsets = .allocate(capacity: maximumFrames)
        offsets.initialize(repeating: 0, count: maximumFrames)
    }

    deinit {
        bytes.deallocate()
        records.deallocate()
        offsets.deallocate()
    }

    /// The `index`-th frame held, oldest first (`0..<frameCount`).
    public func timing(at index: Int) -> FrameTiming {
        records[slot(index)]
    }

    /// Capture time just after the newest frame, or nil when empty.
    public var endTime: Double? {
        frameCount == 0 ? nil : records[slot(frameCount - 1)].endTime
    }

    @inline(__always)
    private func slot(_ index: Int) -> Int {
        let s = firstFrame + index
        return s >= maximumFrames ? s - maximumFrames : s
    }

    /// Appends a frame, evicting the oldest frames until it fits. A frame longer than the
    /// whole capacity keeps only its newest `capacityBytes` bytes (its capture time moves
    /// forward in proportion).
    public func push(_ frame: UnsafeRawBufferPointer, captureTime: Double, duration: Double) {
        guard var source = frame.baseAddress, frame.count > 0 else { return }
        var count = frame.count
        var time = captureTime
        var seconds = duration
        if count > capacityBytes {
            let skipped = count - capacityBytes
            time += duration * Double(skipped) / Double(count)
            seconds -= duration * Double(skipped) / Double(count)
            source += skipped
            count = capacityBytes
            evictedBytes += skipped
        }
        while frameCount > 0 && (byteCount + count > capacityBytes || frameCount == maximumFrames) {
            evictOldest()
        }
        let slot = slot(frameCount)
        records[slot] = FrameTiming(captureTime: time, duration: seconds, byteCount: count)
        offsets[slot] = writeOffset
        let firstPart = min(count, capacityBytes - writeOffset)
        memcpy(bytes + writeOffset, source, firstPart)
        if count > firstPart { memcpy(bytes, source + firstPart, count - firstPart) }
        writeOffset += count
        if writeOffset >= capacityBytes { writeOffset -= capacityBytes }
        frameCount += 1
        byteCount += count
    }

    /// Drops the oldest frame.
    public func evictOldest() {
        guard frameCount > 0 else { return }
        let dropped = records[firstFrame].byteCount
        byteCount -= dropped
        evictedBytes += dropped
        evictedFrames += 1
        frameCount -= 1
        firstFrame = firstFrame + 1 == maximumFrames ? 0 : firstFrame + 1
    }

    /// Drops every frame (the counters of evictions are kept).
    public func removeAll() {
        frameCount = 0
        byteCount = 0
        firstFrame = 0
    }

    /// Index of the oldest frame that overlaps the last `seconds` before ``endTime``
    /// (`frameCount` when empty or `seconds <= 0`). O(frames in the window).
    public func firstFrameIndex(inLast seconds: Double) -> Int {
        guard let end = endTime, seconds > 0 else { return frameCount }
        let windowStart = end - seconds
        var index = frameCount
        while index > 0 && records[slot(index - 1)].endTime > windowStart { index -= 1 }
        return index
    }

    /// Calls `body` with the bytes of frame `index` as one or two slices (two when the frame
    /// wraps the store). The slices are valid only during the call.
    public func withBytes<R>(ofFrame index: Int, _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let slot = slot(index)
        let start = offsets[slot]
        let count = records[slot].byteCount
        let firstPart = min(count, capacityBytes - start)
        return try body(
            UnsafeRawBufferPointer(start: bytes + start, count: firstPart),
            UnsafeRawBufferPointer(start: bytes, count: count - firstPart))
    }

    /// Copies the frames overlapping the last `seconds` into `destination` (which needs
    /// ``capacityBytes`` of room to never truncate), oldest first; returns the bytes copied
    /// and the capture time of the first one (nil when nothing was copied).
    public func copyLast(seconds: Double, into destination: UnsafeMutableRawBufferPointer) -> (byteCount: Int, startTime: Double?) {
        guard let target = destination.baseAddress else { return (0, nil) }
        let first = firstFrameIndex(inLast: seconds)
        var copied = 0
        func append(_ part: UnsafeRawBufferPointer) {
            let n = min(part.count, destination.count - copied)
            if n > 0, let base = part.baseAddress { memcpy(target + copied, base, n) }
            copied += max(n, 0)
        }
        for index in first..<frameCount {
            withBytes(ofFrame: index) { a, b in
                append(a)
                append(b)
            }
        }
        return (copied, first < frameCount ? timing(at: first).captureTime : nil)
    }
}
