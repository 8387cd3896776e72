import CopilotCore
import Foundation

/// The queue the Python prototype used between its capture thread and its consumer: one lock,
/// one growable `bytearray`, `extend` on write and `del buf[:n]` on read, and a condition
/// variable for waiting. CPython deletes from the front of a bytearray by moving its start
/// (amortised O(1)), so this does the same: a head index, the storage compacted once the dead
/// prefix is half of it.
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
    /// Elements before this index were read (`del buf[:n]`) and wait for compaction.
    private var head = 0
    private var held: Int { buffer.count - head }
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
        return held
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
            if held > capacity {
                let excess = held - capacity
                dropFront(excess)
                overruns += excess
            }
            peakFill = max(peakFill, held)
            condition.broadcast()
            return source.count
        }
        let n = min(source.count, capacity - held)
        guard n > 0 else { return 0 }
        buffer.append(contentsOf: source[..<n])
        peakFill = max(peakFill, held)
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
        if held == 0 && !closed { underruns += 1 }
        return takeLocked(into: destination)
    }

    private func takeLocked(into destination: UnsafeMutableBufferPointer<Element>) -> Int {
        let n = min(destination.count, held)
        guard n > 0 else { return 0 }
        for i in 0..<n { destination[i] = buffer[head + i] }
        dropFront(n)
        condition.broadcast()
        return n
    }

    /// `del buf[:n]`: moves the start; compacts when the dead prefix is half the storage.
    private func dropFront(_ n: Int) {
        head += n
        if head == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= buffer.count / 2 {
            buffer.removeFirst(head)
            head = 0
        }
    }

    /// Waits for data, then copies out up to `destination.count`; 0 at the end of the stream.
    public func read(into destination: UnsafeMutableBufferPointer<Element>) -> Int {
        guard !destination.isEmpty else { return 0 }
        condition.lock()
        defer { condition.unlock() }
        if held == 0 && !closed { underruns += 1 }
        while held == 0 && !closed { condition.wait() }
        return takeLocked(into: destination)
    }
}
