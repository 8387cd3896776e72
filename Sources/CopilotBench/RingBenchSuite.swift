#if canImport(Glibc)
import Glibc
#endif
import CopilotCore
import CopilotReference

/// Ring buffers: the SPSC ring against the locked array queue of the Python prototype and
/// against a plain single-thread memcpy of the same bytes (the physical limit of a copy), and
/// the frame ring against the prototype's deque of frames.
enum RingBenchSuite {
    /// Samples per block, as an audio callback would deliver them.
    static let blockSamples = 1024
    /// Ring capacity in samples (1 MiB of Float, the L2 size of the bench machine). Measured
    /// with thread CPU time on 2 loaded vCPUs: a 256 KiB ring cost each side 6-8 ms of CPU
    /// per 64 MB and 5-10 thousand sleeps and wake-ups, a 1 MiB ring 4-5 ms and 1-2 thousand;
    /// a ring that fills in tens of microseconds makes every scheduling delay a handoff.
    static let ringSamples = 262_144

    static let suite = BenchSuite(name: "ring") { context in
        let megabytes = context.quick ? 4 : 64
        let sampleCount = megabytes << 18  // MiB of Float
        let frameCount = context.quick ? 2_000 : 50_000
        return [
            BenchCase(
                name: "ring/spsc \(megabytes)MB 2 threads", unit: "MB", unitsPerOp: Double(megabytes),
                baselineThreads: 2, optimizedThreads: 2
            ) {
                let buffers = TransferBuffers(sampleCount: sampleCount)
                let queue = try LockedQueue<Float>(capacity: ringSamples, policy: .block)
                let ring = try SPSCRing<Float>(minimumCapacity: ringSamples, policy: .block)
                return BenchOperations(
                    reference: { buffers.transfer(through: queue, intoDestination: false) },
                    optimized: { buffers.transfer(through: ring, intoDestination: false) })
            },
            // The same work on both sides: every byte read from `source` and written to
            // `destination` once (memcpy) or through the ring in 1024-sample blocks.
            BenchCase(
                name: "ring/spsc vs memcpy \(megabytes)MB", unit: "MB", unitsPerOp: Double(megabytes),
                baselineLabel: "memcpy"
            ) {
                let buffers = TransferBuffers(sampleCount: sampleCount)
                let ring = try SPSCRing<Float>(minimumCapacity: ringSamples, policy: .block)
                return BenchOperations(
                    reference: { buffers.copyDirectly() },
                    optimized: { buffers.transfer(through: ring, intoDestination: true) })
            },
            BenchCase(name: "ring/frame push+evict \(frameCount) frames", unit: "frames", unitsPerOp: Double(frameCount)) {
                let frames = FrameBenchInput(count: frameCount, seed: context.seed)
                return BenchOperations(
                    reference: { frames.pushIntoDeque() },
                    optimized: { frames.pushIntoRing() })
            },
        ]
    }
}

/// Source and destination of one transfer, allocated and touched once in `prepare`.
private final class TransferBuffers: @unchecked Sendable {
    let source: UnsafeMutableBufferPointer<Float>
    let destination: UnsafeMutableBufferPointer<Float>

    init(sampleCount: Int) {
        source = .allocate(capacity: sampleCount)
        destination = .allocate(capacity: sampleCount)
        for i in 0..<sampleCount { source[i] = Float(i & 0xFFFF) / 65536 }
        destination.initialize(repeating: 0)
    }

    deinit {
        source.deallocate()
        destination.deallocate()
    }

    /// The physical limit: one thread copies every byte once.
    func copyDirectly() {
        guard let to = destination.baseAddress, let from = source.baseAddress else { return }
        memcpy(to, from, source.count * MemoryLayout<Float>.stride)
        benchBlackHole(destination[destination.count - 1])
    }

    /// This thread writes `source` in 1024-sample blocks; a second thread reads 1024-sample
    /// blocks, into consecutive slices of `destination` when `intoDestination` (a full copy
    /// of the 64 MB, as memcpy does) or else into one reused block buffer, the way an audio
    /// consumer takes block after block (the source still streams from memory).
    func transfer<Queue: SampleQueue>(through queue: Queue, intoDestination: Bool) where Queue.Element == Float {
        let block = RingBenchSuite.blockSamples
        let total = source.count
        // Without a second thread there is nothing to measure (and a producer alone would
        // wait on a full ring forever).
        guard let consumer = try? WorkerThread({ [self] in
            var done = 0
            var check: Float = 0
            let scratch = UnsafeMutableBufferPointer<Float>.allocate(capacity: block)
            defer { scratch.deallocate() }
            while done < total {
                let target = intoDestination
                    ? UnsafeMutableBufferPointer(rebasing: destination[done..<min(done + block, total)]) : scratch
                let n = queue.read(into: target)
                if n == 0 { break }
                check += target[n - 1]
                done += n
            }
            benchBlackHole(check)
        }) else { return }
        var sent = 0
        while sent < total {
            let end = min(sent + block, total)
            sent += queue.write(from: UnsafeBufferPointer(rebasing: source[sent..<end]))
        }
        // No close: the consumer stops after `total` samples and the drained queue serves the
        // next run, so its allocation and first-touch page faults stay out of the timing (as
        // memcpy's buffers do).
        consumer.join()
    }
}

/// Variable-length 10-30 ms frames of 16 kHz s16 audio, pushed into a 1-second store so
/// nearly every push evicts.
private final class FrameBenchInput: @unchecked Sendable {
    let frames: [[UInt8]]
    let capacityBytes = 32_000

    init(count: Int, seed: UInt64) {
        var state = seed
        var made: [[UInt8]] = []
        made.reserveCapacity(count)
        for i in 0..<count {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let milliseconds = 10 + Int(state >> 33) % 21
            made.append([UInt8](repeating: UInt8(truncatingIfNeeded: i), count: milliseconds * 32))
        }
        frames = made
    }

    func pushIntoRing() {
        guard let ring = try? FrameRing(capacityBytes: capacityBytes, maximumFrames: 256) else { return }
        var time = 0.0
        for frame in frames {
            let seconds = Double(frame.count) / 32_000
            frame.withUnsafeBytes { ring.push($0, captureTime: time, duration: seconds) }
            time += seconds
        }
        benchBlackHole(ring.byteCount)
    }

    func pushIntoDeque() {
        let deque = FrameDeque(capacityBytes: capacityBytes, maximumFrames: 256)
        var time = 0.0
        for frame in frames {
            let seconds = Double(frame.count) / 32_000
            deque.push(frame, captureTime: time, duration: seconds)
            time += seconds
        }
        benchBlackHole(deque.byteCount)
    }
}
