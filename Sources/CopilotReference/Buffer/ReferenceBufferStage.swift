import CopilotCore
import Foundation

/// `copilot buffer --impl reference`: the Python prototype's stage. A capture thread reads up
/// to 64 KiB at a time and `extend`s a ``LockedQueue`` (one lock, one byte array); a consumer
/// thread takes what is there and writes it out, cutting `--frame-ms` frames from a plain byte
/// array; `--tail` keeps 20 ms blocks in a ``FrameDeque``.
///
/// The same bytes out as ``BufferStage`` under `block`, and with `--tail` at the end of the
/// input; under `drop-oldest`, what is dropped depends on timing on both.
public final class ReferenceBufferStage: StreamBuffering, @unchecked Sendable {
    /// Bytes asked of each `read(2)`, and taken from the queue at a time.
    static let chunkBytes = 1 << 16

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

    public func requestDump() {
        state.requestDump()
    }

    public func run() throws -> BufferReport {
        if let tail = settings.tailSeconds { return try runTail(seconds: tail) }
        return try runStream()
    }

    /// Whole sample frames near ``chunkBytes``.
    private var chunk: Int { max(settings.bytesPerFrame, Self.chunkBytes / settings.bytesPerFrame * settings.bytesPerFrame) }

    private func runStream() throws -> BufferReport {
        let queue = try LockedQueue<UInt8>(capacity: settings.capacityBytes, policy: settings.policy)
        let counters = ByteCounters()
        let frameShape = settings.framingBytes
        let reader = try WorkerThread { [self] in
            do { try capture(into: queue, counters: counters) } catch { state.fail(error) }
            queue.close()
        }
        let writer = try WorkerThread { [self] in
            do {
                if let frameShape {
                    try writeFrames(from: queue, frameBytes: frameShape.frame, hopBytes: frameShape.hop, counters: counters)
                } else {
                    try writeStream(from: queue, counters: counters)
                }
            } catch {
                state.fail(error)
            }
            queue.close()
        }
        return try finish(writer: writer, reader: reader, counters: counters, statistics: { queue.statistics })
    }

    private func finish(
        writer: WorkerThread, reader: WorkerThread, counters: ByteCounters, statistics: () -> RingStatistics
    ) throws -> BufferReport {
        try state.finish(writer: writer, reader: reader, counters: counters, settings: settings, inputName: input.name, statistics: statistics)
    }

    /// `data = stream.read(n); q.extend(data)`, in whole sample frames (a frame cut by a read
    /// waits for its rest; a cut last one still goes out, and the size check reports it).
    private func capture(into queue: LockedQueue<UInt8>, counters: ByteCounters) throws {
        let bpf = settings.bytesPerFrame
        var block = [UInt8](repeating: 0, count: chunk)
        var carried: [UInt8] = []
        while !queue.isClosed {
            let n = try block.withUnsafeMutableBytes { try input.read(into: $0) }
            if n == 0 { break }
            counters.addIn(n)
            carried += block[..<n]
            let whole = carried.count / bpf * bpf
            _ = carried.withUnsafeBufferPointer { queue.write(from: UnsafeBufferPointer(rebasing: $0[..<whole])) }
            carried.removeFirst(whole)
        }
        if !carried.isEmpty { _ = carried.withUnsafeBufferPointer { queue.write(from: $0) } }
    }

    /// Pass-through: whatever the queue holds, written as it comes.
    private func writeStream(from queue: LockedQueue<UInt8>, counters: ByteCounters) throws {
        var block = [UInt8](repeating: 0, count: chunk)
        while true {
            let n = block.withUnsafeMutableBufferPointer { queue.read(into: $0) }
            if n == 0 { return }
            try block.withUnsafeBytes { try FileDescriptorOutput.writeAll(fd: output, name: "stdout", UnsafeRawBufferPointer(rebasing: $0[..<n])) }
            counters.addOut(n)
        }
    }

    /// `buf += q.take()`, then `out.write(buf[pos:pos + frame]); pos += hop` while a whole
    /// frame is there; at the end, one zero-padded frame when samples no frame carried are left.
    private func writeFrames(from queue: LockedQueue<UInt8>, frameBytes: Int, hopBytes: Int, counters: ByteCounters) throws {
        let out = FileDescriptorOutput(fd: output, name: "stdout", capacity: max(1 << 16, frameBytes))
        var block = [UInt8](repeating: 0, count: chunk)
        var pending: [UInt8] = []
        var emitted = false
        while true {
            let n = block.withUnsafeMutableBufferPointer { queue.read(into: $0) }
            if n == 0 { break }
            pending += block[..<n]
            var start = 0
            while pending.count - start >= frameBytes {
                try pending[start..<(start + frameBytes)].withUnsafeBytes { try out.write(bytes: $0) }
                counters.addOut(frameBytes)
                start += hopBytes
                emitted = true
            }
            pending.removeFirst(start)
        }
        let uncovered = emitted ? pending.count - (frameBytes - hopBytes) : pending.count
        if uncovered > 0 {
            let last = pending + [UInt8](repeating: 0, count: frameBytes - pending.count)
            try last.withUnsafeBytes { try out.write(bytes: $0) }
            counters.addOut(frameBytes)
        }
        try out.flush()
    }

    private func runTail(seconds: Double) throws -> BufferReport {
        let (tailBytes, blockBytes) = settings.tailBytes(seconds: seconds)
        let store = ReferenceTail(tailBytes: tailBytes, blockBytes: blockBytes, bytesPerSecond: settings.sampleRate * settings.bytesPerFrame)
        let counters = ByteCounters()
        let reader = try WorkerThread { [self] in
            do {
                var block = [UInt8](repeating: 0, count: chunk)
                while true {
                    let n = try block.withUnsafeMutableBytes { try input.read(into: $0) }
                    if n == 0 { break }
                    counters.addIn(n)
                    store.append(block[..<n])
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
                    let tail = store.snapshot()
                    try tail.withUnsafeBytes { try FileDescriptorOutput.writeAll(fd: output, name: "stdout", $0) }
                    counters.addOut(tail.count)
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

/// The prototype's pre-roll: `(time, duration, bytes)` blocks in a ``FrameDeque`` and the
/// block being filled, behind one lock.
private final class ReferenceTail: @unchecked Sendable {
    let tailBytes: Int
    let blockBytes: Int
    let bytesPerSecond: Int
    private let lock = NSLock()
    private let deque: FrameDeque
    private var pending: [UInt8] = []
    private var position = 0
    private var peak = 0

    init(tailBytes: Int, blockBytes: Int, bytesPerSecond: Int) {
        self.tailBytes = tailBytes
        self.blockBytes = blockBytes
        self.bytesPerSecond = bytesPerSecond
        // One spare block: evicting whole blocks must never cut into the tail.
        deque = FrameDeque(capacityBytes: tailBytes + blockBytes, maximumFrames: tailBytes / blockBytes + 2)
    }

    private func seconds(_ bytes: Int) -> Double { Double(bytes) / Double(bytesPerSecond) }

    func append(_ bytes: ArraySlice<UInt8>) {
        lock.lock()
        defer { lock.unlock() }
        pending += bytes
        var start = 0
        while pending.count - start >= blockBytes {
            deque.push(Array(pending[start..<(start + blockBytes)]), captureTime: seconds(position), duration: seconds(blockBytes))
            position += blockBytes
            start += blockBytes
        }
        pending.removeFirst(start)
        peak = max(peak, min(tailBytes, deque.byteCount + pending.count))
    }

    /// The last `tailBytes` (fewer when less came in).
    func snapshot() -> [UInt8] {
        lock.lock()
        defer { lock.unlock() }
        let held = deque.last(seconds: seconds(tailBytes + blockBytes)).bytes + pending
        return Array(held.suffix(tailBytes))
    }

    var statistics: RingStatistics {
        lock.lock()
        defer { lock.unlock() }
        return RingStatistics(capacity: tailBytes, overruns: max(0, position + pending.count - tailBytes), underruns: 0, peakFill: peak)
    }
}
