import CopilotCore
import Foundation

/// The queue the Python prototype used between its capture thread and its consumer: one lock,
/// one growable array, `extend` on write and `del buf[:n]` on read (here `append(contentsOf:)`
/// and `removeFirst(_:)`, O(count) per read), and a condition variable for waiting.
///
/// Same protocol, same observable behaviour and statistics as ``SPSCRing`` (the capacity is
/// not rounded, so compare the two at power-of-two capacities): the benchmark baseline and
/// the oracle of the ring's differential tests.
public final class LockedQueue<Element: BitwiseCopyable>: SampleQueue, @unchecked Sendable {
    /// Elements the queue holds at most.
    public let capacity: Int
    /// What a write into a full queue does.
    public let policy: RingFullPolicy

    private let condition = NSCondition()
    private var buffer: [Element] = []
    private var closed = false
    private var overruns = 0
    private var underruns = 0
    private var peakFill = 0

    /// Creates a queue of exactly `capacity` elements.
    public init(capacity: Int, policy: RingFullPolicy) throws {
        guard capacity >= 1 && capacity <= SPSCRing<Element>.maximumCapacity else {
            throw BufferError.invalidCapacity(what: "queue", requested: capacity, limit: SPSCRing<Element>.maximumCapacity)
        }
        self.capacity = capacity
        self.policy = policy
    }

    /// Elements currently held.
    public var count: Int {
        condition.lock()
        defer { condition.unlock() }
        return buffer.count
    }

    /// True after ``close()``.
    public var isClosed: Bool {
        condition.lock()
        defer { condition.unlock() }
        return closed
    }

    /// The counters for `--stats`.
    public var statistics: RingStatistics {
        condition.lock()
        defer { condition.unlock() }
        return RingStatistics(capacity: capacity, overruns: overruns, underruns: underruns, peakFill: peakFill)
    }

    /// Ends the stream and wakes every waiter.
    public func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }

    /// Writes what fits now (everything under `dropOldest`, dropping the oldest).
    public func tryWrite(from source: UnsafeBufferPointer<Element>) -> Int {
        condition.lock()
        defer { condition.unlock() }
        return appendLocked(source)
    }

    private func appendLocked(_ source: UnsafeBufferPointer<Element>) -> Int {
        guard !closed, !source.isEmpty else { return 0 }
        if policy == .dropOldest {
            buffer.append(contentsOf: source)
            if buffer.count > capacity {
                let excess = buffer.count - capacity
                buffer.removeFirst(excess)
                overruns += excess
            }
            peakFill = max(peakFill, buffer.count)
            condition.broadcast()
            return source.count
        }
        let n = min(source.count, capacity - buffer.count)
        guard n > 0 else { return 0 }
        buffer.append(contentsOf: source[..<n])
        peakFill = max(peakFill, buffer.count)
        condition.broadcast()
        return n
    }

    /// Writes all of `source`, waiting for room under `block`.
    public func write(from source: UnsafeBufferPointer<Element>) -> Int {
        condition.lock()
        defer { condition.unlock() }
        var done = 0
        while done < source.count && !closed {
            let n = appendLocked(UnsafeBufferPointer(rebasing: source[done...]))
            done += n
            if n == 0 { condition.wait() }
        }
        return done
    }

    /// Copies out up to `destination.count` elements without waiting.
    public func tryRead(into destination: UnsafeMutableBufferPointer<Element>) -> Int {
        guard !destination.isEmpty else { return 0 }
        condition.lock()
        defer { condition.unlock() }
        if buffer.isEmpty && !closed { underruns += 1 }
        return takeLocked(into: destination)
    }

    private func takeLocked(into destination: UnsafeMutableBufferPointer<Element>) -> Int {
        let n = min(destination.count, buffer.count)
        guard n > 0 else { return 0 }
        for i in 0..<n { destination[i] = buffer[i] }
        buffer.removeFirst(n)
        condition.broadcast()
        return n
    }

    /// Waits for data, then copies out up to `destination.count`; 0 at the end of the stream.
    public func read(into destination: UnsafeMutableBufferPointer<Element>) -> Int {
        guard !destination.isEmpty else { return 0 }
        condition.lock()
        defer { condition.unlock() }
        if buffer.isEmpty && !closed { underruns += 1 }
        while buffer.isEmpty && !closed { condition.wait() }
        return takeLocked(into: destination)
    }
}
