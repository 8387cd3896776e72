import Foundation

/// A window of log-mel features of a signal, as the long-form transcription reads them.
package protocol MelFeatureWindows {
    /// Frames in the features of the whole signal (``WhisperMel/frameCount(sampleCount:)``).
    var frameCount: Int { get }
    /// The largest feature value (after the clamp and the mapping).
    var maximumFeature: Float { get }
    /// Frames `startFrame ..< startFrame + frameCount`, zero features past the end, as
    /// ``MelSpectrogram/window(startFrame:frameCount:padding:)`` cuts them.
    func features(startFrame: Int, frameCount: Int) throws -> MelSpectrogram
}

extension MelSpectrogram: MelFeatureWindows {
    package var maximumFeature: Float { values.max() ?? 2 }

    package func features(startFrame: Int, frameCount count: Int) -> MelSpectrogram {
        window(startFrame: startFrame, frameCount: count)
    }
}

/// The log-mel features of a signal of any length, computed while it streams in and read
/// back a window at a time, equal frame for frame to ``MelExtracting/logMelSpectrogram(_:)``
/// of the whole signal.
///
/// The clamp is taken against the maximum of the whole signal, known only at its end, so the
/// unclamped frames are computed as the samples arrive, `chunkFrames` at a time (each with the
/// 200 samples of context on either side its frames read, reflected at the ends as the whole
/// signal is), and kept frame-major in an unlinked temporary file (320 bytes per 10 ms: 115 MB
/// an hour, on disk, not in memory); ``features(startFrame:frameCount:)`` reads a window back
/// and clamps it. Memory holds one chunk of samples and one chunk of features, whatever the
/// signal's length.
package final class StreamedLogMel: MelFeatureWindows {
    /// Samples appended so far.
    package private(set) var sampleCount = 0
    /// Frames of the whole signal; valid after ``finish()``.
    package private(set) var frameCount = 0
    /// The largest log10 mel power over all frames; valid after ``finish()``.
    package private(set) var maximum: Float = -.infinity
    /// The most samples held at once (the chunk being gathered and its context).
    package private(set) var peakHeldSamples = 0
    package var maximumFeature: Float { (maximum + 4) / 4 }

    private let extractor: any MelExtracting
    private let chunkFrames: Int
    private let spill: SpillFile
    private var held: [Float] = []
    private var heldStart = 0
    private var nextFrame = 0
    private var finished = false

    /// An empty signal; `chunkFrames` frames are computed at a time, the spill file goes to
    /// `directory` (default: `$TMPDIR` or `/tmp`).
    package init(extractor: any MelExtracting, chunkFrames: Int = WhisperMel.windowFrames, directory: String? = nil) throws {
        self.extractor = extractor
        self.chunkFrames = max(1, chunkFrames)
        self.spill = try SpillFile(directory: directory ?? NSTemporaryDirectory())
    }

    /// Adds the next samples (16 kHz mono) and computes every frame they complete.
    package func append(_ samples: UnsafeBufferPointer<Float>) throws {
        precondition(!finished, "StreamedLogMel.append after finish")
        held.append(contentsOf: samples)
        sampleCount += samples.count
        peakHeldSamples = max(peakHeldSamples, held.count)
        // A frame is complete once the 200 samples after its centre have arrived.
        while (nextFrame + chunkFrames - 1) * WhisperMel.hopLength + WhisperMel.fftSize / 2 <= sampleCount {
            try compute(frames: nextFrame..<(nextFrame + chunkFrames))
        }
    }

    /// Ends the signal: computes the last frames (with the trailing zeros and the reflection).
    package func finish() throws {
        guard !finished else { return }
        finished = true
        frameCount = WhisperMel.frameCount(sampleCount: sampleCount)
        while nextFrame < frameCount {
            try compute(frames: nextFrame..<min(nextFrame + chunkFrames, frameCount))
        }
        held = []
    }

    /// Frames `startFrame ..< startFrame + count`, clamped against the whole signal's maximum,
    /// zero features past the end. O(count) time and memory.
    package func features(startFrame: Int, frameCount count: Int) throws -> MelSpectrogram {
        precondition(finished, "StreamedLogMel.features before finish")
        let melCount = WhisperMel.melCount
        let start = max(startFrame, 0), count = max(count, 0)
        var out = [Float](repeating: 0, count: melCount * count)
        let available = max(0, min(count, frameCount - start))
        guard available > 0 else { return MelSpectrogram(melCount: melCount, frameCount: count, values: out) }
        var frames = [Float](repeating: 0, count: melCount * available)
        try spill.read(into: &frames, atFloat: start * melCount)
        WhisperMel.clamp(&frames, maximum: maximum)
        frames.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for frame in 0..<available {
                    for mel in 0..<melCount { dst[mel * count + frame] = src[frame * melCount + mel] }
                }
            }
        }
        return MelSpectrogram(melCount: melCount, frameCount: count, values: out)
    }

    /// Computes `frames` from the held samples, spills them frame-major and drops the samples
    /// no later frame reads.
    private func compute(frames: Range<Int>) throws {
        let padded = held.withUnsafeBufferPointer {
            WhisperMel.paddedSignal(frames: frames, sampleCount: sampleCount, held: $0, heldStart: heldStart)
        }
        let mel = padded.withUnsafeBufferPointer { extractor.unclampedLogMel(padded: $0, frameCount: frames.count) }
        let melCount = WhisperMel.melCount
        var frameMajor = [Float](repeating: 0, count: mel.values.count)
        mel.values.withUnsafeBufferPointer { src in
            frameMajor.withUnsafeMutableBufferPointer { dst in
                for i in src.indices {
                    let value = src[i]
                    maximum = max(maximum, value)
                    dst[(i % frames.count) * melCount + i / frames.count] = value
                }
            }
        }
        try spill.append(frameMajor)
        nextFrame = frames.upperBound
        // The next frame reads from 200 samples before its centre; the reflection at the start
        // reads the first 201 samples, which frame 0..1 have already used.
        let keepFrom = max(0, nextFrame * WhisperMel.hopLength - WhisperMel.fftSize / 2)
        if keepFrom > heldStart && !finished {
            held.removeFirst(min(keepFrom - heldStart, held.count))
            heldStart = keepFrom
        }
    }
}

/// An unlinked temporary file of floats, appended to and read back by offset: disk instead of
/// memory for data the process writes once and reads again later. Gone when closed, or when
/// the process dies.
final class SpillFile {
    private let fd: Int32
    private let directory: String
    private var floatCount = 0

    /// Creates the file in `directory` and unlinks it at once.
    init(directory: String) throws {
        self.directory = directory
        var template = Array((directory.hasSuffix("/") ? directory : directory + "/").utf8CString.dropLast())
            + Array("copilot-mel-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else {
            throw AudioError.writeFailed(path: directory, reason: "cannot create a temporary file: \(String(cString: strerror(errno)))")
        }
        _ = template.withUnsafeBufferPointer { unlink($0.baseAddress!) }
        self.fd = fd
    }

    deinit { close(fd) }

    /// Appends `values` at the end.
    func append(_ values: [Float]) throws {
        try values.withUnsafeBytes { bytes in
            try transfer(bytes.count, atByte: floatCount * 4) { done, offset in
                pwrite(fd, bytes.baseAddress! + done, bytes.count - done, offset)
            } failure: {
                AudioError.writeFailed(path: directory, reason: "spilling log-mel features: \($0 ?? "nothing written")")
            }
        }
        floatCount += values.count
    }

    /// Fills `values` with the floats from index `offset` on (all of them must have been written).
    func read(into values: inout [Float], atFloat offset: Int) throws {
        precondition(offset >= 0 && offset + values.count <= floatCount, "SpillFile.read past what was written")
        try values.withUnsafeMutableBytes { bytes in
            try transfer(bytes.count, atByte: offset * 4) { done, position in
                pread(fd, bytes.baseAddress! + done, bytes.count - done, position)
            } failure: {
                AudioError.readFailed(input: "temporary file in \(directory)", reason: $0 ?? "it ended early")
            }
        }
    }

    /// Runs `step(done, fileOffset)` (a pread or pwrite of what is left) until `count` bytes
    /// have moved, retrying on EINTR; `failure(strerror or nil at the end of the file)` makes
    /// the error.
    private func transfer(
        _ count: Int, atByte start: Int, _ step: (Int, off_t) -> Int, failure: (String?) -> AudioError
    ) throws {
        var done = 0
        while done < count {
            let n = step(done, off_t(start + done))
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw failure(n < 0 ? String(cString: strerror(errno)) : nil) }
            done += n
        }
    }
}
