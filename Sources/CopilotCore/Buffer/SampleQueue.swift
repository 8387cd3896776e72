/// What a bounded queue does when the producer writes into a full queue.
public enum RingFullPolicy: String, Sendable, CaseIterable {
    /// Back-pressure: the producer waits until the consumer makes room; nothing is ever lost.
    case block
    /// Pre-roll: the producer overwrites the oldest unread elements and counts them as
    /// overruns; the producer never waits.
    case dropOldest = "drop-oldest"
}

/// Counters a queue keeps for `copilot buffer --stats`.
public struct RingStatistics: Sendable, Equatable {
    /// Elements the queue holds at most.
    public var capacity: Int
    /// Elements lost to the `dropOldest` policy (written but never delivered), including the
    /// head of a single write longer than the whole capacity.
    public var overruns: Int
    /// Reads that found the queue empty while it was still open (the consumer had to wait,
    /// or a non-blocking read returned nothing).
    public var underruns: Int
    /// Highest number of elements held at once, measured right after each write.
    public var peakFill: Int

    /// Creates a snapshot.
    public init(capacity: Int, overruns: Int, underruns: Int, peakFill: Int) {
        self.capacity = capacity
        self.overruns = overruns
        self.underruns = underruns
        self.peakFill = peakFill
    }
}

/// A bounded single-producer/single-consumer queue of trivially copyable elements.
///
/// One thread writes, one thread reads. ``SPSCRing`` is the lock-free implementation;
/// CopilotReference's `LockedQueue` is the lock-and-array version the Python prototype used,
/// and the two behave identically (same elements out, same statistics) for the same calls.
public protocol SampleQueue<Element>: AnyObject, Sendable {
    /// The element type, e.g. `Float` samples or `UInt8` bytes.
    associatedtype Element: BitwiseCopyable

    /// Elements the queue holds at most.
    var capacity: Int { get }
    /// What a write into a full queue does.
    var policy: RingFullPolicy { get }
    /// Elements currently held (exact when no other thread is running, a snapshot otherwise).
    var count: Int { get }
    /// True after ``close()``.
    var isClosed: Bool { get }
    /// The counters for `--stats`.
    var statistics: RingStatistics { get }

    /// Producer: writes as many elements as fit now without waiting and returns how many
    /// (under `dropOldest` all of them, evicting the oldest). Nothing is written after close.
    func tryWrite(from source: UnsafeBufferPointer<Element>) -> Int
    /// Producer: writes all of `source`, waiting for room under `block`; returns fewer only
    /// when the queue is closed meanwhile.
    func write(from source: UnsafeBufferPointer<Element>) -> Int
    /// Consumer: copies out up to `destination.count` elements without waiting; 0 when empty.
    func tryRead(into destination: UnsafeMutableBufferPointer<Element>) -> Int
    /// Consumer: waits for at least one element, then copies out up to `destination.count`;
    /// returns 0 only when the queue is closed and empty (the end of the stream).
    func read(into destination: UnsafeMutableBufferPointer<Element>) -> Int
    /// Ends the stream: the consumer drains what is left and then reads 0; a producer
    /// waiting for room gives up. Either side may call it; it is idempotent.
    func close()
}
