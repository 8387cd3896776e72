#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// `copilot buffer`: a reader thread fills a ring from the input descriptor, a writer thread
/// drains it to the output descriptor.
///
/// Three shapes: pass-through (bytes out exactly as in, under `block`; the reader `read(2)`s
/// straight into the ring and the writer `write(2)`s straight out of it, up to 1 MiB a call),
/// re-framing (`frameMs`/`hopMs`: overlapping frames, the last one zero-padded so no sample is
/// lost), and tail (only the last N seconds, kept in a ``FrameRing`` and written at the end
/// and on ``requestDump()``).
public final class BufferStage: StreamBuffering, @unchecked Sendable {
    /// Largest single `read(2)`/`write(2)`.
    static let ioChunkBytes = 1 << 20
    /// Under `block`, pass-through rings get at least this many bytes: the capacity only sets
    /// how much may queue, and a bigger ring keeps both threads busy at pipe speed.
    static let minimumBlockingRingBytes = 1 << 20

    private let settings: BufferSettings
    private let input: any ByteSource
    private let output: Int32
    private let state = StageState()

    /// Prepares a stage from `input` to the open descriptor `output` (not closed by the stage).
    public init(settings: BufferSettings, input: any ByteSource, output: Int32) throws {
        try settings.validate()
        self.settings = settings
        self.input = input
        self.output = output
    }

    private var inputName: String { input.name }

    /// Asks the tail writer to write the current last N seconds now (SIGUSR1). Safe from any
    /// thread; ignored outside tail mode.
    public func requestDump() {
        state.requestDump()
    }

    /// Runs until the input ends (or the output closes, or an error), then returns the
    /// report. Throws ``OutputError/closed`` when the reader of the output went away.
    public func run() throws -> BufferReport {
        Self.enlargePipe(output)
        input.prepareForBulkReads()
        if let tail = settings.tailSeconds { return try runTail(seconds: tail) }
        return try runStream()
    }

    private var bytesPerSecond: Int { settings.sampleRate * settings.bytesPerFrame }

    /// Asks the kernel for a 1 MiB pipe buffer when `fd` is a pipe (16 times the default),
    /// so each `read(2)`/`write(2)` moves more and the two ends wake each other less often.
    /// Best effort: an unprivileged process may be refused, which changes nothing else.
    static func enlargePipe(_ fd: Int32) {
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFIFO else { return }
        // F_SETPIPE_SZ (Linux fcntl.h, hidden behind _GNU_SOURCE in Glibc's Swift module).
        let setPipeSize: Int32 = 1031
        _ = fcntl(fd, setPipeSize, Int32(1 << 20))
    }

    // MARK: Pass-through and re-framing

    private func runStream() throws -> BufferReport {
        let bpf = settings.bytesPerFrame
        var capacity = settings.capacityBytes
        let framing = settings.framingBytes
        if settings.policy == .block && framing == nil {
            capacity = max(capacity, Self.minimumBlockingRingBytes)
        }
        let ring = try SPSCRing<UInt8>(minimumCapacity: capacity, policy: settings.policy, evictionGranule: bpf)
        let frameShape = framing
        let counters = ByteCounters()
        let reader = try WorkerThread { [self] in
            do {
                try settings.policy == .block ? readBlocking(into: ring, counters: counters) : readDropping(into: ring, counters: counters)
            } catch {
                state.fail(error)
            }
            ring.close()
        }
        let writer = try WorkerThread { [self] in
            do {
                if let framing = frameShape {
                    try writeFrames(from: ring, frameBytes: framing.frame, hopBytes: framing.hop, counters: counters)
                } else {
                    try writeStream(from: ring, counters: counters)
                }
            } catch {
                state.fail(error)
            }
            ring.close()
        }
        return try finish(writer: writer, reader: reader, counters: counters, statistics: { ring.statistics })
    }

    private func finish(
        writer: WorkerThread, reader: WorkerThread, counters: ByteCounters, statistics: () -> RingStatistics
    ) throws -> BufferReport {
        try state.finish(writer: writer, reader: reader, counters: counters, settings: settings, inputName: inputName, statistics: statistics)
    }

    private func readSome(_ buffer: UnsafeMutableRawPointer, _ count: Int) throws -> Int {
        try input.read(into: UnsafeMutableRawBufferPointer(start: buffer, count: count))
    }

    private func writeOut(_ bytes: UnsafeRawBufferPointer) throws {
        try FileDescriptorOutput.writeAll(fd: output, name: "stdout", bytes)
    }

    /// Block policy: read straight into the ring's free space.
    private func readBlocking(into ring: SPSCRing<UInt8>, counters: ByteCounters) throws {
        let wanted = min(Self.ioChunkBytes, max(ring.capacity / 4, 1))
        while ring.waitUntilWritable(wanted) {
            let free = ring.writableRegions(atLeast: wanted).first
            guard let base = free.baseAddress, free.count > 0 else { continue }
            let n = try readSome(UnsafeMutableRawPointer(base), min(free.count, Self.ioChunkBytes))
            if n == 0 { return }
            ring.commitWrite(n)
            counters.addIn(n)
        }
    }

    /// Drop-oldest policy: read into a private buffer, then write whole sample frames into
    /// the ring, evicting the oldest; the reader never waits for the writer.
    private func readDropping(into ring: SPSCRing<UInt8>, counters: ByteCounters) throws {
        let bpf = settings.bytesPerFrame
        let chunk = max(bpf, min(Self.ioChunkBytes, ring.capacity / 4) / bpf * bpf)
        let staging = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk + bpf, alignment: 64)
        defer { staging.deallocate() }
        guard let base = staging.baseAddress else { return }
        var carried = 0
        while !ring.isClosed {
            let n = try readSome(base + carried, chunk)
            if n == 0 { break }
            counters.addIn(n)
            let held = carried + n
            let whole = held / bpf * bpf
            if whole > 0 {
                _ = ring.write(from: UnsafeBufferPointer(start: base.assumingMemoryBound(to: UInt8.self), count: whole))
            }
            carried = held - whole
            if carried > 0 { memmove(base, base + whole, carried) }
        }
        // A truncated last sample frame still goes out, so the byte stream is never cut
        // short; the size check reports it afterwards.
        if carried > 0 {
            _ = ring.write(from: UnsafeBufferPointer(start: base.assumingMemoryBound(to: UInt8.self), count: carried))
        }
    }

    /// Pass-through: write the readable bytes as they come.
    private func writeStream(from ring: SPSCRing<UInt8>, counters: ByteCounters) throws {
        if ring.policy == .block {
            while ring.waitUntilReadable(1) || ring.count > 0 {
                let filled = ring.readableRegions().first
                let n = min(filled.count, Self.ioChunkBytes)
                try writeOut(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: filled[..<n])))
                ring.commitRead(n)
                counters.addOut(n)
            }
            return
        }
        // Drop-oldest: the producer may overwrite what we look at, so copy out and validate
        // (read(into:)) before writing.
        let bpf = settings.bytesPerFrame
        let chunk = max(bpf, min(Self.ioChunkBytes, ring.capacity / 4) / bpf * bpf)
        let scratch = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: chunk)
        defer { scratch.deallocate() }
        while true {
            let n = ring.read(into: scratch)
            if n == 0 { return }
            try writeOut(UnsafeRawBufferPointer(UnsafeMutableBufferPointer(rebasing: scratch[..<n])))
            counters.addOut(n)
        }
    }

    /// Re-framing: each frame is `frameBytes` starting `hopBytes` after the previous one;
    /// the last frame is zero-padded when samples would otherwise be left out.
    private func writeFrames(from ring: SPSCRing<UInt8>, frameBytes: Int, hopBytes: Int, counters: ByteCounters) throws {
        let out = FileDescriptorOutput(fd: output, name: "stdout", capacity: max(1 << 16, frameBytes))
        let frame = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: frameBytes)
        defer { frame.deallocate() }
        var emitted = false
        while true {
            if ring.waitUntilReadable(frameBytes) {
                let regions = ring.readableRegions(atLeast: frameBytes)
                // Under dropOldest the producer may have evicted part of the frame since the
                // wait (or be between claiming room and publishing): look again.
                guard regions.first.count + regions.second.count >= frameBytes else { continue }
                let first = min(frameBytes, regions.first.count)
                _ = UnsafeMutableBufferPointer(rebasing: frame[..<first]).initialize(from: regions.first[..<first])
                if first < frameBytes {
                    _ = UnsafeMutableBufferPointer(rebasing: frame[first...]).initialize(from: regions.second[..<(frameBytes - first)])
                }
                guard ring.commitRead(hopBytes) else { continue }  // overwritten meanwhile
                try out.write(bytes: UnsafeRawBufferPointer(frame))
                counters.addOut(frameBytes)
                emitted = true
                continue
            }
            // Closed with less than a frame left: pad one last frame if it holds samples no
            // frame has carried yet (all of them when no frame was written).
            let regions = ring.readableRegions()
            let left = regions.first.count + regions.second.count
            let uncovered = emitted ? left - (frameBytes - hopBytes) : left
            if uncovered > 0 {
                frame.initialize(repeating: 0)
                _ = UnsafeMutableBufferPointer(rebasing: frame[..<regions.first.count]).initialize(from: regions.first)
                _ = UnsafeMutableBufferPointer(rebasing: frame[regions.first.count..<left]).initialize(from: regions.second)
                if ring.commitRead(left) {
                    try out.write(bytes: UnsafeRawBufferPointer(frame))
                    counters.addOut(frameBytes)
                }
            }
            try out.flush()
            return
        }
    }

    // MARK: Tail

    private func runTail(seconds: Double) throws -> BufferReport {
        // Blocks of about 20 ms go into the frame ring; the block being filled stays pending.
        let (tailBytes, blockBytes) = settings.tailBytes(seconds: seconds)
        let store = try TailStore(tailBytes: tailBytes, blockBytes: blockBytes, bytesPerSecond: bytesPerSecond)
        let counters = ByteCounters()
        let reader = try WorkerThread { [self] in
            do {
                let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 64)
                defer { chunk.deallocate() }
                while let base = chunk.baseAddress {
                    let n = try readSome(base, chunk.count)
                    if n == 0 { break }
                    counters.addIn(n)
                    store.append(UnsafeRawBufferPointer(rebasing: chunk[..<n]))
                }
            } catch {
                state.fail(error)
            }
            state.finishInput()
        }
        let writer = try WorkerThread { [self] in
            do {
                while true {
                    let final = state.waitForDumpOrEnd()
                    let n = try store.withSnapshot { try writeOut($0) }
                    counters.addOut(n)
                    if final { return }
                }
            } catch {
                state.fail(error)
                state.finishInput()
            }
        }
        return try finish(writer: writer, reader: reader, counters: counters, statistics: { store.statistics })
    }
}

/// The last `tailBytes` of a byte stream: whole blocks in a ``FrameRing`` plus the block
/// being filled, behind one lock shared by the reader and the dump writer.
private final class TailStore: @unchecked Sendable {
    let tailBytes: Int
    let blockBytes: Int
    let bytesPerSecond: Int
    private let lock = NSLock()
    private let ring: FrameRing
    private let pending: UnsafeMutableRawBufferPointer
    private var pendingCount = 0
    private var position = 0
    private var peak = 0
    private let snapshot: UnsafeMutableRawBufferPointer

    init(tailBytes: Int, blockBytes: Int, bytesPerSecond: Int) throws {
        self.tailBytes = tailBytes
        self.blockBytes = blockBytes
        self.bytesPerSecond = bytesPerSecond
        // One spare block: whole-block eviction must never cut into the tail.
        ring = try FrameRing(capacityBytes: tailBytes + blockBytes, maximumFrames: tailBytes / blockBytes + 2)
        pending = .allocate(byteCount: blockBytes, alignment: 64)
        snapshot = .allocate(byteCount: tailBytes + 2 * blockBytes, alignment: 64)
    }

    deinit {
        pending.deallocate()
        snapshot.deallocate()
    }

    func append(_ bytes: UnsafeRawBufferPointer) {
        lock.lock()
        defer { lock.unlock() }
        var offset = 0
        while offset < bytes.count {
            let n = min(blockBytes - pendingCount, bytes.count - offset)
            UnsafeMutableRawBufferPointer(rebasing: pending[pendingCount..<(pendingCount + n)])
                .copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + n)]))
            pendingCount += n
            offset += n
            if pendingCount == blockBytes {
                ring.push(UnsafeRawBufferPointer(pending), captureTime: seconds(position), duration: seconds(blockBytes))
                position += blockBytes
                pendingCount = 0
            }
        }
        peak = max(peak, min(tailBytes, ring.byteCount + pendingCount))
    }

    private func seconds(_ bytes: Int) -> Double { Double(bytes) / Double(bytesPerSecond) }

    /// Calls `body` with the current last `tailBytes` (fewer when less came in); returns
    /// their count. The copy is made under the lock, the call without it.
    func withSnapshot(_ body: (UnsafeRawBufferPointer) throws -> Void) throws -> Int {
        lock.lock()
        let window = seconds(tailBytes + blockBytes)
        var (count, _) = ring.copyLast(seconds: window, into: snapshot)
        if pendingCount > 0, let base = snapshot.baseAddress, let from = pending.baseAddress {
            memcpy(base + count, from, pendingCount)
            count += pendingCount
        }
        lock.unlock()
        let start = max(0, count - tailBytes)
        try body(UnsafeRawBufferPointer(rebasing: snapshot[start..<count]))
        return count - start
    }

    var statistics: RingStatistics {
        lock.lock()
        defer { lock.unlock() }
        let dropped = max(0, ring.evictedBytes + ring.byteCount + pendingCount - tailBytes)
        return RingStatistics(capacity: tailBytes, overruns: dropped, underruns: 0, peakFill: peak)
    }
}
