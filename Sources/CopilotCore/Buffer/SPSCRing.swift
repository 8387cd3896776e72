#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// A lock-free single-producer/single-consumer ring of trivially copyable elements (`Float`
/// samples, `Int16` PCM, `UInt8` bytes).
///
/// Layout: the capacity is a power of two, so a position is `index & mask`. The write index
/// and read index grow without wrapping (64-bit, centuries at memory speed) so full and empty
/// are told apart without a spare slot. The producer's line (write index, its cached copy of
/// the read index, overrun and peak counters) and the consumer's line (read index, its cached
/// copy of the write index, underrun counter) sit 128 bytes apart in one raw allocation, so
/// the two threads never write the same cache line (128 covers adjacent-line prefetch). Each
/// side re-reads the other's index only when its cached copy says the ring is full or empty.
/// The storage is allocated once; nothing allocates after `init`.
///
/// Bulk access: ``writableRegions(atLeast:)``/``commitWrite(_:)`` and
/// ``readableRegions(atLeast:)``/``commitRead(_:)`` expose the free or filled space as at
/// most two contiguous slices (two at the wrap), so callers can `read(2)` or `write(2)`
/// straight into the ring; ``write(from:)`` and ``read(into:)`` copy.
///
/// Policy `dropOldest`: the producer makes room by advancing the *read* index itself with a
/// compare-and-swap before it writes, and the consumer commits its reads with a
/// compare-and-swap from the read index it started from. A consumer whose commit fails knows
/// the producer claimed those slots while it was copying them: it discards the copy and
/// retries from the new read index (the seqlock idea, with the read index as the sequence).
/// Because the producer claims before it writes, a successful consumer commit proves its copy
/// was not overwritten. Under `dropOldest`, slices from ``readableRegions(atLeast:)`` are
/// therefore only trustworthy once ``commitRead(_:)`` returns `true`: copy first, use after.
public final class SPSCRing<Element: BitwiseCopyable>: SampleQueue, @unchecked Sendable {
    /// Largest capacity accepted, in elements.
    public static var maximumCapacity: Int { 1 << 34 }

    @usableFromInline let core: RingCore

    /// Elements the ring holds (a power of two).
    public var capacity: Int { core.capacity }
    /// What a write into a full ring does.
    public var policy: RingFullPolicy { core.policy }
    /// Under `dropOldest`, evictions come in multiples of this many elements, so a ring of
    /// bytes holding whole sample frames (and written in whole frames) stays frame-aligned.
    public var evictionGranule: Int { core.evictionGranule }

    /// Creates a ring holding at least `minimumCapacity` elements (rounded up to a power of
    /// two). Throws ``BufferError/invalidCapacity(what:requested:limit:)`` outside
    /// `1...maximumCapacity`.
    public init(minimumCapacity: Int, policy: RingFullPolicy, evictionGranule: Int = 1) throws {
        core = try RingCore(
            minimumCapacity: minimumCapacity, policy: policy, evictionGranule: evictionGranule,
            stride: MemoryLayout<Element>.stride, alignment: MemoryLayout<Element>.alignment)
    }

    /// Elements currently held (a snapshot when the other side is running).
    public var count: Int { core.count }
    /// True after ``close()``.
    public var isClosed: Bool { core.isClosed }
    /// The counters for `--stats`.
    public var statistics: RingStatistics { core.statistics }
    /// Ends the stream (either side; idempotent) and wakes both sides.
    public func close() { core.close() }

    // MARK: Producer

    /// Producer: the free space as up to two contiguous slices (the second is empty unless
    /// the space wraps). Re-reads the consumer's index only if the cached one shows fewer
    /// than `atLeast` free. Under `dropOldest` this is the space free *without* evicting;
    /// use ``write(from:)`` to evict.
    @inlinable
    public func writableRegions(atLeast minimum: Int = 1) -> (first: UnsafeMutableBufferPointer<Element>, second: UnsafeMutableBufferPointer<Element>) {
        let span = core.writableSpan(atLeast: minimum)
        let base = core.storage.assumingMemoryBound(to: Element.self)
        let firstCount = min(span.count, core.capacity - span.start)
        return (
            UnsafeMutableBufferPointer(start: base + span.start, count: firstCount),
            UnsafeMutableBufferPointer(start: base, count: span.count - firstCount)
        )
    }

    /// Producer: publishes `count` elements written into the slices from
    /// ``writableRegions(atLeast:)`` (count must not exceed their total).
    @inlinable
    public func commitWrite(_ count: Int) { core.commitWrite(count) }

    /// Producer: waits until at least `minimum` elements are free (clamped to the capacity).
    /// Returns false if the ring was closed first.
    @inlinable
    public func waitUntilWritable(_ minimum: Int = 1) -> Bool { core.waitUntilWritable(minimum) }

    /// Producer: writes what fits now (all of it under `dropOldest`) and returns the count.
    @inlinable
    public func tryWrite(from source: UnsafeBufferPointer<Element>) -> Int {
        guard let base = source.baseAddress else { return 0 }
        return core.tryWrite(from: UnsafeRawPointer(base), count: source.count)
    }

    /// Producer: writes all of `source`. Under `block` it waits for room as often as needed;
    /// under `dropOldest` it never waits. Returns less than `source.count` only if the ring
    /// was closed meanwhile.
    @inlinable
    public func write(from source: UnsafeBufferPointer<Element>) -> Int {
        guard let base = source.baseAddress else { return 0 }
        return core.write(from: UnsafeRawPointer(base), count: source.count)
    }

    // MARK: Consumer

    /// Consumer: the unread elements as up to two contiguous slices. Re-reads the producer's
    /// index only if the cached one shows fewer than `atLeast`. Under `dropOldest` the
    /// contents are valid only if the following ``commitRead(_:)`` returns true.
    @inlinable
    public func readableRegions(atLeast minimum: Int = 1) -> (first: UnsafeBufferPointer<Element>, second: UnsafeBufferPointer<Element>) {
        let span = core.readableSpan(atLeast: minimum)
        let base = UnsafePointer(core.storage.assumingMemoryBound(to: Element.self))
        let firstCount = min(span.count, core.capacity - span.start)
        return (
            UnsafeBufferPointer(start: base + span.start, count: firstCount),
            UnsafeBufferPointer(start: base, count: span.count - firstCount)
        )
    }

    /// Consumer: releases the first `count` elements seen by the last
    /// ``readableRegions(atLeast:)``. Always true under `block`; under `dropOldest`, false
    /// when the producer overwrote them meanwhile (discard what was copied and look again).
    @inlinable @discardableResult
    public func commitRead(_ count: Int) -> Bool { core.commitRead(count) }

    /// Consumer: waits until at least `minimum` elements are unread (clamped to the
    /// capacity). Returns false if the ring is closed with fewer left (the caller then takes
    /// the remainder). Counts an underrun when it has to wait.
    @inlinable
    public func waitUntilReadable(_ minimum: Int = 1) -> Bool { core.waitUntilReadable(minimum) }

    /// Consumer: copies out what is there now, up to `destination.count`; 0 when empty
    /// (an underrun if the ring is still open).
    @inlinable
    public func tryRead(into destination: UnsafeMutableBufferPointer<Element>) -> Int {
        guard let base = destination.baseAddress else { return 0 }
        return core.tryRead(into: UnsafeMutableRawPointer(base), count: destination.count)
    }

    /// Consumer: waits for data, then copies out up to `destination.count`; 0 only at the end
    /// of the stream (closed and drained).
    @inlinable
    public func read(into destination: UnsafeMutableBufferPointer<Element>) -> Int {
        guard let base = destination.baseAddress else { return 0 }
        return core.read(into: UnsafeMutableRawPointer(base), count: destination.count)
    }
}

/// The element-type-free machinery of ``SPSCRing``: indices, counters, parking and copies in
/// element units with a runtime stride. Kept non-generic so it is compiled once, fully
/// optimized, and callers in other modules never run unspecialized generic code (which
/// looked up type metadata for every returned slice, costing more than a 4 KB copy).
@usableFromInline
final class RingCore: @unchecked Sendable {
    @usableFromInline let capacity: Int
    @usableFromInline let policy: RingFullPolicy
    @usableFromInline let evictionGranule: Int
    @usableFromInline let stride: Int
    private let mask: Int
    @usableFromInline let storage: UnsafeMutableRawPointer
    private let control: UnsafeMutableRawPointer
    private let spaceParker = RingParker()
    private let dataParker = RingParker()

    // Control block offsets: producer line, consumer line, shared line.
    private static var lineBytes: Int { 128 }
    private static var writeIndexOffset: Int { 0 }
    private static var cachedReadOffset: Int { 8 }
    private static var overrunsOffset: Int { 16 }
    private static var peakFillOffset: Int { 24 }
    private static var readIndexOffset: Int { 128 }
    private static var cachedWriteOffset: Int { 136 }
    private static var underrunsOffset: Int { 144 }
    private static var readSnapshotOffset: Int { 152 }
    private static var closedOffset: Int { 256 }
    private static var controlBytes: Int { 384 }

    private var writeIndex: UnsafeMutablePointer<Atomic<Int>> { atomic(Self.writeIndexOffset) }
    private var readIndex: UnsafeMutablePointer<Atomic<Int>> { atomic(Self.readIndexOffset) }
    private var overrunCounter: UnsafeMutablePointer<Atomic<Int>> { atomic(Self.overrunsOffset) }
    private var peakCounter: UnsafeMutablePointer<Atomic<Int>> { atomic(Self.peakFillOffset) }
    private var underrunCounter: UnsafeMutablePointer<Atomic<Int>> { atomic(Self.underrunsOffset) }
    private var closedFlag: UnsafeMutablePointer<Atomic<Int>> { atomic(Self.closedOffset) }
    /// Producer-private: last read index the producer saw (never ahead of the real one).
    private var cachedRead: UnsafeMutablePointer<Int> { plain(Self.cachedReadOffset) }
    /// Consumer-private: last write index the consumer saw (never ahead of the real one).
    private var cachedWrite: UnsafeMutablePointer<Int> { plain(Self.cachedWriteOffset) }
    /// Consumer-private: read index at the last `readableRegions`, the CAS expectation.
    private var readSnapshot: UnsafeMutablePointer<Int> { plain(Self.readSnapshotOffset) }

    @inline(__always)
    private func atomic(_ offset: Int) -> UnsafeMutablePointer<Atomic<Int>> {
        (control + offset).assumingMemoryBound(to: Atomic<Int>.self)
    }

    @inline(__always)
    private func plain(_ offset: Int) -> UnsafeMutablePointer<Int> {
        (control + offset).assumingMemoryBound(to: Int.self)
    }

    /// Creates a ring holding at least `minimumCapacity` elements (rounded up to a power of
    /// two). Throws ``BufferError/invalidCapacity(what:requested:limit:)`` outside
    /// `1...maximumCapacity`.
    init(minimumCapacity: Int, policy: RingFullPolicy, evictionGranule: Int, stride: Int, alignment: Int) throws {
        let limit = 1 << 34
        guard minimumCapacity >= 1 && minimumCapacity <= limit else {
            throw BufferError.invalidCapacity(what: "ring", requested: minimumCapacity, limit: limit)
        }
        var size = 1
        while size < minimumCapacity { size <<= 1 }
        capacity = size
        mask = size - 1
        self.policy = policy
        self.evictionGranule = max(1, evictionGranule)
        self.stride = stride
        storage = UnsafeMutableRawPointer.allocate(byteCount: size * stride, alignment: max(Self.lineBytes, alignment))
        storage.initializeMemory(as: UInt8.self, repeating: 0, count: size * stride)
        control = .allocate(byteCount: Self.controlBytes, alignment: Self.lineBytes)
        control.initializeMemory(as: UInt8.self, repeating: 0, count: Self.controlBytes)
        for offset in [
            Self.writeIndexOffset, Self.overrunsOffset, Self.peakFillOffset, Self.readIndexOffset,
            Self.underrunsOffset, Self.closedOffset,
        ] {
            (control + offset).bindMemory(to: Atomic<Int>.self, capacity: 1).initialize(to: Atomic(0))
        }
    }

    deinit {
        storage.deallocate()
        control.deallocate()
    }

    /// Elements currently held (a snapshot when the other side is running).
    @usableFromInline var count: Int {
        let r = readIndex.pointee.load(ordering: .acquiring)
        return writeIndex.pointee.load(ordering: .acquiring) &- r
    }

    /// True after ``close()``.
    @usableFromInline var isClosed: Bool { closedFlag.pointee.load(ordering: .acquiring) != 0 }

    /// The counters for `--stats`.
    @usableFromInline var statistics: RingStatistics {
        RingStatistics(
            capacity: capacity,
            overruns: overrunCounter.pointee.load(ordering: .relaxed),
            underruns: underrunCounter.pointee.load(ordering: .relaxed),
            peakFill: peakCounter.pointee.load(ordering: .relaxed))
    }

    /// Ends the stream (either side; idempotent) and wakes both sides.
    @usableFromInline func close() {
        closedFlag.pointee.store(1, ordering: .sequentiallyConsistent)
        dataParker.wake()
        spaceParker.wake()
    }

    // MARK: Producer

    /// Producer: where the free space starts (a slot index) and how many elements are free.
    /// Re-reads the consumer's index only if the cached one shows fewer than `minimum`.
    @usableFromInline func writableSpan(atLeast minimum: Int) -> (start: Int, count: Int) {
        let w = writeIndex.pointee.load(ordering: .relaxed)
        var free = capacity - (w &- cachedRead.pointee)
        if free < minimum {
            cachedRead.pointee = readIndex.pointee.load(ordering: .acquiring)
            free = capacity - (w &- cachedRead.pointee)
        }
        return (w & mask, free)
    }

    /// Producer: publishes `count` elements written into the slices from
    /// ``writableRegions(atLeast:)`` (count must not exceed their total).
    @usableFromInline func commitWrite(_ count: Int) {
        let newWrite = writeIndex.pointee.load(ordering: .relaxed) &+ count
        writeIndex.pointee.store(newWrite, ordering: .releasing)
        dataParker.wake()
        notePeak(writeIndex: newWrite)
    }

    /// Keeps the peak exact at the cost of re-reading the read index only when the
    /// producer's stale view suggests a new peak (a stale view only overestimates the fill).
    @inline(__always)
    private func notePeak(writeIndex newWrite: Int) {
        let peak = peakCounter.pointee.load(ordering: .relaxed)
        guard newWrite &- cachedRead.pointee > peak else { return }
        cachedRead.pointee = readIndex.pointee.load(ordering: .acquiring)
        let fill = newWrite &- cachedRead.pointee
        if fill > peak { peakCounter.pointee.store(fill, ordering: .relaxed) }
    }

    /// Producer: waits until at least `minimum` elements are free (clamped to the capacity).
    /// Returns false if the ring was closed first.
    @usableFromInline func waitUntilWritable(_ minimum: Int = 1) -> Bool {
        let needed = min(max(minimum, 1), capacity)
        if isClosed { return false }
        if writableCount(refreshing: false) >= needed { return true }
        // Once asleep, sleep until a quarter of the ring is free: a producer woken for every
        // consumer block would ping-pong between cores (and, on a loaded machine, through
        // the run queue) once per block.
        let batch = max(needed, capacity / 4)
        spaceParker.wait(threshold: batch) { self.isClosed || self.writableCount(refreshing: true) >= needed }
        return !isClosed
    }

    private func writableCount(refreshing: Bool) -> Int {
        if refreshing { cachedRead.pointee = readIndex.pointee.load(ordering: .acquiring) }
        return capacity - (writeIndex.pointee.load(ordering: .relaxed) &- cachedRead.pointee)
    }

    /// Producer: writes what fits now (all of it under `dropOldest`) and returns the count.
    @usableFromInline func tryWrite(from source: UnsafeRawPointer, count: Int) -> Int {
        guard !isClosed, count > 0 else { return 0 }
        if policy == .dropOldest { return writeEvicting(source, count: count) }
        let span = writableSpan(atLeast: count)
        let n = min(count, span.count)
        guard n > 0 else { return 0 }
        copyIn(from: source, count: n, at: span.start)
        commitWrite(n)
        return n
    }

    /// Producer: writes all of `source`, waiting for room under `block`; fewer only if closed.
    @usableFromInline func write(from source: UnsafeRawPointer, count: Int) -> Int {
        if policy == .dropOldest { return isClosed ? 0 : writeEvicting(source, count: count) }
        var done = 0
        while done < count {
            done += tryWrite(from: source + done * stride, count: count - done)
            if done < count && !waitUntilWritable(1) { break }
        }
        return done
    }

    /// `dropOldest` write: claims room by moving the read index forward (CAS, racing only
    /// with the consumer's own commits), then copies and publishes.
    private func writeEvicting(_ source: UnsafeRawPointer, count: Int) -> Int {
        guard count > 0 else { return 0 }
        var base = source
        var n = count
        var lost = 0
        if n > capacity {
            lost = n - capacity
            base += lost * stride
            n = capacity
        }
        let w = writeIndex.pointee.load(ordering: .relaxed)
        if capacity - (w &- cachedRead.pointee) < n {
            while true {
                let r = readIndex.pointee.load(ordering: .acquiring)
                var shortfall = n - (capacity - (w &- r))
                if shortfall <= 0 {
                    cachedRead.pointee = r
                    break
                }
                if evictionGranule > 1 {
                    shortfall = min((shortfall + evictionGranule - 1) / evictionGranule * evictionGranule, w &- r)
                }
                let (claimed, _) = readIndex.pointee.compareExchange(
                    expected: r, desired: r &+ shortfall,
                    successOrdering: .acquiringAndReleasing, failureOrdering: .acquiring)
                if claimed {
                    cachedRead.pointee = r &+ shortfall
                    lost += shortfall
                    break
                }
            }
        }
        if lost > 0 {
            overrunCounter.pointee.store(overrunCounter.pointee.load(ordering: .relaxed) + lost, ordering: .relaxed)
        }
        copyIn(from: base, count: n, at: writableSpan(atLeast: n).start)
        commitWrite(n)
        return count
    }

    /// Copies `count` elements from `source` into the ring at slot `start`, wrapping.
    @inline(__always)
    private func copyIn(from source: UnsafeRawPointer, count: Int, at start: Int) {
        let firstCount = min(count, capacity - start)
        memcpy(storage + start * stride, source, firstCount * stride)
        if count > firstCount { memcpy(storage, source + firstCount * stride, (count - firstCount) * stride) }
    }

    /// Copies `count` elements out of the ring from slot `start`, wrapping.
    @inline(__always)
    private func copyOut(to target: UnsafeMutableRawPointer, count: Int, at start: Int) {
        let firstCount = min(count, capacity - start)
        memcpy(target, storage + start * stride, firstCount * stride)
        if count > firstCount { memcpy(target + firstCount * stride, storage, (count - firstCount) * stride) }
    }

    // MARK: Consumer

    /// Consumer: where the unread elements start (a slot index) and how many there are.
    /// Re-reads the producer's index only if the cached one shows fewer than `minimum`.
    @usableFromInline func readableSpan(atLeast minimum: Int) -> (start: Int, count: Int) {
        // Acquire: under dropOldest the producer moves the read index too.
        let r = readIndex.pointee.load(ordering: .acquiring)
        readSnapshot.pointee = r
        var available = cachedWrite.pointee &- r
        if available < minimum {
            cachedWrite.pointee = writeIndex.pointee.load(ordering: .acquiring)
            available = cachedWrite.pointee &- r
        }
        // Under dropOldest the producer may have lapped a stale `r`; the commit will fail,
        // but the span must still stay inside the storage.
        return (r & mask, max(0, min(available, capacity)))
    }

    /// Consumer: releases the first `count` elements seen by the last
    /// ``readableRegions(atLeast:)``. Always true under `block`; under `dropOldest`, false
    /// when the producer overwrote them meanwhile (discard what was copied and look again).
    @discardableResult @usableFromInline
    func commitRead(_ count: Int) -> Bool {
        let r = readSnapshot.pointee
        if policy == .block {
            readIndex.pointee.store(r &+ count, ordering: .releasing)
            // The consumer's cached write index is never ahead, so this free count never
            // falls short of the real one.
            spaceParker.wake(available: capacity - (cachedWrite.pointee &- (r &+ count)))
            return true
        }
        let (committed, _) = readIndex.pointee.compareExchange(
            expected: r, desired: r &+ count,
            successOrdering: .sequentiallyConsistent, failureOrdering: .relaxed)
        if committed { spaceParker.wake() }
        return committed
    }

    /// Consumer: waits until at least `minimum` elements are unread (clamped to the
    /// capacity). Returns false if the ring is closed with fewer left (the caller then takes
    /// the remainder). Counts an underrun when it has to wait.
    ///
    /// Only a closed ring ends the wait with `false`. Under `dropOldest` the unread count
    /// dips while the producer is between claiming room (moving the read index up to its
    /// own write index) and publishing the elements it writes there: a reader that took such
    /// a dip for the end of the stream stopped early and left the last blocks unread.
    @usableFromInline func waitUntilReadable(_ minimum: Int = 1) -> Bool {
        let needed = min(max(minimum, 1), capacity)
        var waited = false
        while true {
            if readableCount(refreshing: true) >= needed { return true }
            // Closed is read before the final re-check, so everything published before
            // `close()` is seen (the acquire on the flag orders the index loads after it).
            if isClosed { return readableCount(refreshing: true) >= needed }
            if !waited {
                noteUnderrun()
                waited = true
            }
            dataParker.wait { self.isClosed || self.readableCount(refreshing: true) >= needed }
        }
    }

    private func readableCount(refreshing: Bool) -> Int {
        if refreshing { cachedWrite.pointee = writeIndex.pointee.load(ordering: .acquiring) }
        return cachedWrite.pointee &- readIndex.pointee.load(ordering: .acquiring)
    }

    private func noteUnderrun() {
        underrunCounter.pointee.store(underrunCounter.pointee.load(ordering: .relaxed) + 1, ordering: .relaxed)
    }

    /// Consumer: copies out what is there now, up to `capacity` elements; 0 when empty (an
    /// underrun if the ring is still open).
    @usableFromInline func tryRead(into target: UnsafeMutableRawPointer, count wanted: Int) -> Int {
        guard wanted > 0 else { return 0 }
        while true {
            let span = readableSpan(atLeast: wanted)
            let n = min(wanted, span.count)
            if n == 0 {
                // Closed is read before the final re-check, so data published before close
                // is never mistaken for the end.
                let closed = isClosed
                if readableCount(refreshing: true) > 0 { continue }
                if !closed { noteUnderrun() }
                return 0
            }
            copyOut(to: target, count: n, at: span.start)
            if commitRead(n) { return n }
        }
    }

    /// Consumer: waits for data, then copies out up to `wanted` elements; 0 only at the end
    /// of the stream (closed and drained).
    @usableFromInline func read(into target: UnsafeMutableRawPointer, count wanted: Int) -> Int {
        guard wanted > 0 else { return 0 }
        while true {
            let span = readableSpan(atLeast: wanted)
            let n = min(wanted, span.count)
            if n == 0 {
                if !waitUntilReadable(1) { return 0 }
                continue
            }
            copyOut(to: target, count: n, at: span.start)
            if commitRead(n) { return n }
        }
    }
}
