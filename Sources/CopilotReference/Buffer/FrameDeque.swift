import CopilotCore

/// The Python prototype's pre-roll store: a deque of `(time, duration, bytes)` tuples and a
/// running byte total, popping from the left while over budget; each frame is its own array.
///
/// Same behaviour as ``FrameRing`` for the same pushes: the oracle of its tests and the
/// baseline of its benchmark.
public final class FrameDeque {
    /// Bytes held at most.
    public let capacityBytes: Int
    /// Frames held at most.
    public let maximumFrames: Int
    private var frames: [(timing: FrameTiming, bytes: [UInt8])] = []
    /// Bytes held now.
    public private(set) var byteCount = 0
    /// Frames evicted so far.
    public private(set) var evictedFrames = 0

    /// Creates an empty store.
    public init(capacityBytes: Int, maximumFrames: Int) {
        self.capacityBytes = capacityBytes
        self.maximumFrames = maximumFrames
    }

    /// Frames held now.
    public var frameCount: Int { frames.count }

    /// Appends a frame, dropping the oldest ones while over budget (a frame longer than the
    /// capacity keeps its newest bytes, its time moved forward in proportion).
    public func push(_ frame: [UInt8], captureTime: Double, duration: Double) {
        guard !frame.isEmpty else { return }
        var data = frame
        var time = captureTime
        var seconds = duration
        if data.count > capacityBytes {
            let skipped = data.count - capacityBytes
            time += duration * Double(skipped) / Double(data.count)
            seconds -= duration * Double(skipped) / Double(data.count)
            data = Array(data[skipped...])
        }
        frames.append((FrameTiming(captureTime: time, duration: seconds, byteCount: data.count), data))
        byteCount += data.count
        while frames.count > 1 && (byteCount > capacityBytes || frames.count > maximumFrames) {
            byteCount -= frames.removeFirst().bytes.count
            evictedFrames += 1
        }
    }

    /// Timing of the `index`-th frame, oldest first.
    public func timing(at index: Int) -> FrameTiming { frames[index].timing }

    /// The bytes of the frames overlapping the last `seconds`, oldest first, and the capture
    /// time of the first of them.
    public func last(seconds: Double) -> (bytes: [UInt8], startTime: Double?) {
        guard let end = frames.last.map({ $0.timing.endTime }), seconds > 0 else { return ([], nil) }
        let selected = frames.filter { $0.timing.endTime > end - seconds }
        return (selected.flatMap { $0.bytes }, selected.first?.timing.captureTime)
    }
}
