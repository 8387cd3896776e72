#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// What `copilot buffer` does with the stream, in audio terms (milliseconds, seconds); the
/// stage turns them into bytes with the raw format's sample-frame size.
public struct BufferSettings: Sendable, Equatable {
    /// Sample frames per second of the raw stream.
    public var sampleRate: Int
    /// Bytes of one sample frame (bytes per sample times channels).
    public var bytesPerFrame: Int
    /// Name of the raw format for messages, e.g. `s16le`.
    public var formatName: String
    /// Ring capacity in milliseconds of audio (rounded up to a power of two bytes).
    public var capacityMs: Int
    /// Full-ring policy.
    public var policy: RingFullPolicy
    /// Re-framing: output frames of this many milliseconds (nil = pass-through).
    public var frameMs: Int?
    /// Re-framing: a frame starts this many milliseconds after the previous one (default
    /// `frameMs`, no overlap); less than `frameMs` overlaps frames.
    public var hopMs: Int?
    /// Pre-roll: keep only the last this many seconds, written at the end of the input and
    /// on each ``BufferStage/requestDump()`` (SIGUSR1).
    public var tailSeconds: Double?

    /// Built-in defaults of the `[buffer]` section.
    public static let defaultCapacityMs = 2000
    /// Built-in default policy.
    public static let defaultPolicy = RingFullPolicy.block
    /// Largest ring, frame pair or tail, in bytes: memory is allocated (and touched) up front.
    public static let maximumBufferBytes = 1 << 30

    /// Creates settings; ``validated()`` checks them.
    public init(
        sampleRate: Int, bytesPerFrame: Int, formatName: String, capacityMs: Int = defaultCapacityMs,
        policy: RingFullPolicy = defaultPolicy, frameMs: Int? = nil, hopMs: Int? = nil, tailSeconds: Double? = nil
    ) {
        self.sampleRate = sampleRate
        self.bytesPerFrame = bytesPerFrame
        self.formatName = formatName
        self.capacityMs = capacityMs
        self.policy = policy
        self.frameMs = frameMs
        self.hopMs = hopMs
        self.tailSeconds = tailSeconds
    }

    /// Sample frames in `milliseconds`, at least one.
    func sampleFrames(milliseconds: Int) -> Int {
        max(1, Int((Double(milliseconds) * Double(sampleRate) / 1000).rounded()))
    }

    /// Throws ``BufferError/invalidSetting(name:value:expected:)`` for values out of range.
    public func validate() throws {
        guard (1...768_000).contains(sampleRate) else {
            throw BufferError.invalidSetting(name: "--rate", value: "\(sampleRate)", expected: "1...768000 Hz")
        }
        guard (1...1024).contains(bytesPerFrame) else {
            throw BufferError.invalidSetting(name: "sample frame size", value: "\(bytesPerFrame)", expected: "1...1024 bytes")
        }
        guard (1...600_000).contains(capacityMs) else {
            throw BufferError.invalidSetting(name: "--capacity-ms", value: "\(capacityMs)", expected: "1...600000")
        }
        if let frameMs, !(1...60_000).contains(frameMs) {
            throw BufferError.invalidSetting(name: "--frame-ms", value: "\(frameMs)", expected: "1...60000")
        }
        if let hopMs {
            guard let frameMs else {
                throw BufferError.invalidSetting(name: "--hop-ms", value: "\(hopMs)", expected: "it only with --frame-ms")
            }
            guard (1...frameMs).contains(hopMs) else {
                throw BufferError.invalidSetting(name: "--hop-ms", value: "\(hopMs)", expected: "1...\(frameMs) (at most --frame-ms)")
            }
        }
        let bytesPerMs = Double(bytesPerFrame) * Double(sampleRate) / 1000
        let limitMs = Int(Double(Self.maximumBufferBytes) / bytesPerMs)
        guard Double(capacityMs) * bytesPerMs <= Double(Self.maximumBufferBytes) else {
            throw BufferError.invalidSetting(
                name: "--capacity-ms", value: "\(capacityMs)", expected: "at most \(limitMs) ms at this rate and format (1 GiB)")
        }
        if let frameMs, Double(2 * frameMs) * bytesPerMs > Double(Self.maximumBufferBytes) {
            throw BufferError.invalidSetting(
                name: "--frame-ms", value: "\(frameMs)", expected: "at most \(limitMs / 2) ms at this rate and format")
        }
        if let tailSeconds {
            guard tailSeconds > 0 && tailSeconds <= 3600 else {
                throw BufferError.invalidSetting(name: "--tail", value: "\(tailSeconds)", expected: "a number of seconds in (0, 3600]")
            }
            guard frameMs == nil else {
                throw BufferError.invalidSetting(name: "--tail", value: "with --frame-ms", expected: "one of --tail or --frame-ms")
            }
            guard tailSeconds * 1000 * bytesPerMs <= Double(Self.maximumBufferBytes) else {
                throw BufferError.invalidSetting(
                    name: "--tail", value: "\(tailSeconds)", expected: "at most \(limitMs / 1000) s at this rate and format (1 GiB)")
            }
        }
    }
}

/// Where `copilot buffer` reads bytes from: a file descriptor, or decoded audio turned into
/// raw PCM. Read by one thread.
public protocol ByteSource: AnyObject, Sendable {
    /// Names the input in error messages.
    var name: String { get }
    /// Fills the front of `buffer` with the next bytes and returns how many; 0 at the end.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
    /// Called once before the first read (a pipe may enlarge its buffer).
    func prepareForBulkReads()
}

extension ByteSource {
    /// Nothing to prepare by default.
    public func prepareForBulkReads() {}
}

/// Raw bytes from a file descriptor (stdin, a pipe, a file), `read(2)` straight into the
/// caller's buffer, retrying on EINTR.
public final class FileDescriptorSource: ByteSource, @unchecked Sendable {
    /// Names the input in error messages.
    public let name: String
    private let fd: Int32
    private let owned: Bool
    private var bytesLeft: Int?
    /// Bytes read from `fd` before this source (a sniffed head), handed out first.
    private var prefix: [UInt8]

    /// Reads `fd` (up to `byteLimit` bytes, for `--duration`, `prefix` first); it is closed
    /// on deinit only when `owned`.
    public init(fd: Int32, name: String, owned: Bool = false, byteLimit: Int? = nil, prefix: [UInt8] = []) {
        self.fd = fd
        self.name = name
        self.owned = owned
        bytesLeft = byteLimit
        self.prefix = prefix
    }

    /// Opens `path` for reading.
    public convenience init(path: String, byteLimit: Int? = nil) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw BufferError.readFailed(input: path, reason: String(cString: strerror(errno)) + "; check the path")
        }
        self.init(fd: fd, name: path, owned: true, byteLimit: byteLimit)
    }

    deinit { if owned { close(fd) } }

    /// Enlarges the pipe buffer when the descriptor is a pipe.
    public func prepareForBulkReads() {
        BufferStage.enlargePipe(fd)
    }

    /// One `read(2)` into the front of `buffer` (at most the bytes left of the limit);
    /// 0 at the end of the input.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let wanted = min(buffer.count, bytesLeft ?? Int.max)
        guard let base = buffer.baseAddress, wanted > 0 else { return 0 }
        if !prefix.isEmpty {
            let n = min(wanted, prefix.count)
            prefix.withUnsafeBytes { base.copyMemory(from: $0.baseAddress!, byteCount: n) }
            prefix.removeFirst(n)
            bytesLeft = bytesLeft.map { $0 - n }
            return n
        }
        while true {
            let n = Glibc.read(fd, base, wanted)
            if n >= 0 {
                bytesLeft = bytesLeft.map { $0 - n }
                return n
            }
            if errno == EINTR { continue }
            throw BufferError.readFailed(input: name, reason: String(cString: strerror(errno)))
        }
    }
}

/// What a finished stage did, for `--stats`.
public struct BufferReport: Sendable, Equatable {
    /// Bytes read from the input.
    public var bytesIn: Int
    /// Bytes written to the output.
    public var bytesOut: Int
    /// Ring counters in bytes (overruns, peak fill, capacity) and reads (underruns). In tail
    /// mode, overruns are the bytes that fell out of the tail window.
    public var statistics: RingStatistics
    /// Bytes of one second of audio, to turn byte counts into time.
    public var bytesPerSecond: Int

    /// One line for stderr, e.g. `buffer: in 64000 bytes, out 64000 bytes, overruns 0 bytes (0 ms), ...`.
    public var summary: String {
        func ms(_ bytes: Int) -> String { String(format: "%.0f ms", Double(bytes) * 1000 / Double(max(bytesPerSecond, 1))) }
        let percent = statistics.capacity > 0 ? 100 * Double(statistics.peakFill) / Double(statistics.capacity) : 0
        return "buffer: in \(bytesIn) bytes, out \(bytesOut) bytes, overruns \(statistics.overruns) bytes (\(ms(statistics.overruns))), "
            + "underruns \(statistics.underruns), peak fill \(statistics.peakFill) of \(statistics.capacity) bytes "
            + "(\(ms(statistics.peakFill)), " + String(format: "%.1f%%", percent) + ")"
    }
}

/// `copilot buffer`: a reader thread fills a ring from the input descriptor, a writer thread
/// drains it to the output descriptor.
///
/// Three shapes: pass-through (bytes out exactly as in, under `block`; the reader `read(2)`s
/// straight into the ring and the writer `write(2)`s straight out of it, up to 1 MiB a call),
/// re-framing (`frameMs`/`hopMs`: overlapping frames, the last one zero-padded so no sample is
/// lost), and tail (only the last N seconds, kept in a ``FrameRing`` and written at the end
/// and on ``requestDump()``).
public final class BufferStage: @unchecked Sendable {
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
        var capacity = settings.sampleFrames(milliseconds: settings.capacityMs) * bpf
        var framing: (frame: Int, hop: Int)?
        if let frameMs = settings.frameMs {
            let frame = settings.sampleFrames(milliseconds: frameMs) * bpf
            let hop = settings.sampleFrames(milliseconds: settings.hopMs ?? frameMs) * bpf
            framing = (frame, min(hop, frame))
            capacity = max(capacity, 2 * frame)
        }
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

    /// Waits for the writer, then the reader (left behind when the output closed: it may sit
    /// in read(2) on a terminal forever, and the process exit ends it), and reports.
    private func finish(
        writer: WorkerThread, reader: WorkerThread, counters: ByteCounters, statistics: () -> RingStatistics
    ) throws -> BufferReport {
        writer.join()
        if state.outputClosed {
            reader.detach()
        } else {
            reader.join()
        }
        try state.rethrow()
        try checkWholeFrames(counters.bytesIn)
        return BufferReport(bytesIn: counters.bytesIn, bytesOut: counters.bytesOut, statistics: statistics(), bytesPerSecond: bytesPerSecond)
    }

    private func checkWholeFrames(_ byteCount: Int) throws {
        if byteCount % settings.bytesPerFrame != 0 {
            throw BufferError.truncatedInput(
                input: inputName, byteCount: byteCount, bytesPerFrame: settings.bytesPerFrame, format: settings.formatName)
        }
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
        let bpf = settings.bytesPerFrame
        let tailBytes = max(bpf, Int((seconds * Double(settings.sampleRate)).rounded()) * bpf)
        // Blocks of about 20 ms go into the frame ring; the block being filled stays pending.
        let blockBytes = max(bpf, settings.sampleFrames(milliseconds: 20) * bpf)
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

/// Byte totals updated by one thread each, read after both are joined.
private final class ByteCounters: @unchecked Sendable {
    private(set) var bytesIn = 0
    private(set) var bytesOut = 0
    func addIn(_ n: Int) { bytesIn += n }
    func addOut(_ n: Int) { bytesOut += n }
}

/// The first error, dump requests and the end of the input, shared by the threads.
private final class StageState: @unchecked Sendable {
    private let condition = NSCondition()
    private var error: Error?
    private var dumpsRequested = 0
    private var inputEnded = false

    var outputClosed: Bool {
        condition.lock()
        defer { condition.unlock() }
        if case OutputError.closed? = error { return true }
        return false
    }

    func fail(_ newError: Error) {
        condition.lock()
        if error == nil { error = newError }
        condition.broadcast()
        condition.unlock()
    }

    func rethrow() throws {
        condition.lock()
        let e = error
        condition.unlock()
        if let e { throw e }
    }

    func requestDump() {
        condition.lock()
        dumpsRequested += 1
        condition.broadcast()
        condition.unlock()
    }

    func finishInput() {
        condition.lock()
        inputEnded = true
        condition.broadcast()
        condition.unlock()
    }

    /// Waits for a dump request (returns false) or the end of the input (returns true).
    func waitForDumpOrEnd() -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while dumpsRequested == 0 && !inputEnded { condition.wait() }
        if dumpsRequested > 0 && !inputEnded {
            dumpsRequested -= 1
            return false
        }
        return true
    }
}

/// The `[buffer]` section of the configuration: the defaults that flags override.
public struct BufferDefaults: Sendable, Equatable {
    /// `capacity_ms`: ring capacity in milliseconds of audio.
    public var capacityMs: Int
    /// `policy`: `block` or `drop-oldest`.
    public var policy: RingFullPolicy

    /// The built-in defaults (what `config/copilot.toml` documents).
    public static let builtIn = BufferDefaults(capacityMs: BufferSettings.defaultCapacityMs, policy: BufferSettings.defaultPolicy)

    /// Creates defaults.
    public init(capacityMs: Int, policy: RingFullPolicy) {
        self.capacityMs = capacityMs
        self.policy = policy
    }

    /// Reads the `[buffer]` section, refusing unknown keys and out-of-range values.
    public init(configuration: Configuration) throws {
        let section = try configuration.section("buffer")
        try section.checkKeys(known: ["capacity_ms", "policy"])
        self.init(
            capacityMs: try section.int("capacity_ms", default: Self.builtIn.capacityMs, in: 1...600_000),
            policy: try section.choice("policy", default: Self.builtIn.policy))
    }
}

/// Runs a handler on a dispatch queue each time a signal arrives (SIGUSR1 for tail dumps),
/// instead of in a signal handler where almost nothing is safe.
public final class SignalWatcher: @unchecked Sendable {
    private let source: DispatchSourceSignal

    /// Starts watching `signal`; its default action is disabled while watched.
    public init(signal number: Int32, handler: @escaping @Sendable () -> Void) {
        Glibc.signal(number, SIG_IGN)
        source = DispatchSource.makeSignalSource(signal: number, queue: DispatchQueue.global())
        source.setEventHandler(handler: handler)
        source.resume()
    }

    deinit { source.cancel() }
}
