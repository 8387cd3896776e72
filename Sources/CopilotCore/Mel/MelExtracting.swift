/// Whisper's log-mel front end, as faster-whisper computes it with numpy.
///
/// 16 kHz mono samples, a 400-sample periodic Hann window every 160 samples (10 ms), centred
/// with reflect padding, power spectrum over 201 bins, 80 Slaney mel filters, then
/// `log10(max(x, 1e-10))` clamped to (global maximum - 8) and mapped by `(x + 4) / 4`.
public enum WhisperMel {
    /// Input sample rate, in Hz.
    public static let sampleRate = 16_000
    /// FFT (and window) length, in samples.
    public static let fftSize = 400
    /// Distance between frames, in samples (10 ms).
    public static let hopLength = 160
    /// Number of mel bands.
    public static let melCount = 80
    /// Frequency bins of the one-sided spectrum (`fftSize / 2 + 1`).
    public static let binCount = fftSize / 2 + 1
    /// Frames in one 30 s decoding window.
    public static let windowFrames = 3000
    /// Zero samples faster-whisper appends to the whole signal before the STFT.
    public static let trailingPaddingSamples = 160
    /// Floor applied to mel power before the logarithm.
    public static let powerFloor: Float = 1e-10
    /// Dynamic range kept below the global maximum, in log10 units.
    public static let dynamicRange: Float = 8

    /// Frames produced for `sampleCount` samples: one per hop of the padded signal, the last
    /// STFT frame dropped, i.e. `(sampleCount + 160) / 160` (1 frame for an empty signal).
    public static func frameCount(sampleCount: Int) -> Int {
        (max(sampleCount, 0) + trailingPaddingSamples) / hopLength
    }

    /// The padded signal behind `frames` of the features of a signal of `sampleCount` samples
    /// (the 160 trailing zeros, then reflect padding of 200 on both sides, as
    /// ``MelExtracting/logMelSpectrogram(_:)`` pads the whole signal): `(frames.count - 1) *
    /// 160 + 400` samples, frame `frames.lowerBound + k` starting at `k * 160`. `held` holds
    /// the signal's samples from `heldStart` on; every sample the frames read must be there
    /// (at most 200 before the first frame's centre and 200 after the last's, or, at the ends,
    /// the samples the reflection reads: the first 201 and the last 200).
    ///
    /// - Complexity: O(frames.count * 160).
    package static func paddedSignal(
        frames: Range<Int>, sampleCount: Int, held: UnsafeBufferPointer<Float>, heldStart: Int
    ) -> [Float] {
        guard !frames.isEmpty else { return [] }
        let edge = fftSize / 2
        let length = sampleCount + trailingPaddingSamples
        let first = frames.lowerBound * hopLength - edge
        var padded = [Float](repeating: 0, count: (frames.count - 1) * hopLength + fftSize)
        padded.withUnsafeMutableBufferPointer { p in
            for i in p.indices {
                let position = melReflectIndex(first + i, length: length)
                guard position < sampleCount else { continue }  // the trailing zeros
                precondition(position >= heldStart && position - heldStart < held.count, "WhisperMel.paddedSignal: sample \(position) is not held")
                p[i] = melSanitizedSample(held[position - heldStart])
            }
        }
        return padded
    }

    /// Features from log10 mel power: clamped to `maximum - 8` (`maximum`: the largest log10
    /// power of the whole signal) and mapped by `(x + 4) / 4`, in place.
    package static func clamp(_ values: inout [Float], maximum: Float) {
        let floor = maximum - dynamicRange
        values.withUnsafeMutableBufferPointer { out in
            for i in out.indices { out[i] = (max(out[i], floor) + 4) / 4 }
        }
    }
}

/// A log-mel spectrogram in mel-major order, like numpy's `[80, frames]` array:
/// the value of band `mel` at frame `frame` is `values[mel * frameCount + frame]`.
public struct MelSpectrogram: Sendable, Equatable {
    /// Number of mel bands (rows).
    public let melCount: Int
    /// Number of 10 ms frames (columns).
    public let frameCount: Int
    /// Row-major values, `melCount * frameCount` of them.
    public var values: [Float]

    /// Wraps `values`; `values.count` must be `melCount * frameCount`.
    public init(melCount: Int, frameCount: Int, values: [Float]) {
        precondition(values.count == melCount * frameCount, "MelSpectrogram: values.count must be melCount * frameCount")
        self.melCount = melCount
        self.frameCount = frameCount
        self.values = values
    }

    /// The value of band `mel` at `frame`.
    public subscript(mel: Int, frame: Int) -> Float {
        values[mel * frameCount + frame]
    }

    /// The frames `startFrame ..< startFrame + frameCount`, with `padding` features (default
    /// zero, faster-whisper's `pad_or_trim` of a window) where the range runs past the end. A
    /// negative start is treated as 0.
    ///
    /// - Complexity: O(melCount * frameCount).
    public func window(startFrame: Int, frameCount count: Int = WhisperMel.windowFrames, padding: Float = 0) -> MelSpectrogram {
        let count = max(count, 0)
        let start = max(startFrame, 0)
        var out = [Float](repeating: padding, count: melCount * count)
        let available = max(0, min(count, frameCount - start))
        if available > 0 {
            values.withUnsafeBufferPointer { src in
                out.withUnsafeMutableBufferPointer { dst in
                    for mel in 0..<melCount {
                        let from = src.baseAddress! + mel * frameCount + start
                        (dst.baseAddress! + mel * count).update(from: from, count: available)
                    }
                }
            }
        }
        return MelSpectrogram(melCount: melCount, frameCount: count, values: out)
    }
}

/// Turns 16 kHz mono samples into Whisper's log-mel features.
///
/// Implementations must give the same frames as faster-whisper's numpy `FeatureExtractor`
/// (`WhisperMel` describes the algorithm), within 1e-3. Non-finite samples are treated as
/// clipping: NaN as 0, +-infinity as +-1.
public protocol MelExtracting: Sendable {
    /// Computes the features of the whole signal: `WhisperMel.frameCount(sampleCount:)`
    /// frames, the clamp taken against the maximum over all of them.
    func logMelSpectrogram(_ samples: UnsafeBufferPointer<Float>) -> MelSpectrogram

    /// Log10 mel power, before the clamp, of the `frameCount` frames of `padded` (frame `k`
    /// reads `padded[k * 160 ..< k * 160 + 400]`; ``WhisperMel/paddedSignal(frames:sampleCount:held:heldStart:)``
    /// cuts it from a longer signal): the values ``logMelSpectrogram(_:)`` clamps, so a long
    /// signal's features can be computed a window at a time and clamped against the maximum
    /// of all of them (``WhisperMel/clamp(_:maximum:)``).
    func unclampedLogMel(padded: UnsafeBufferPointer<Float>, frameCount: Int) -> MelSpectrogram
}

extension MelExtracting {
    /// Computes the features of an array of 16 kHz mono samples.
    public func logMelSpectrogram(_ samples: [Float]) -> MelSpectrogram {
        samples.withUnsafeBufferPointer { logMelSpectrogram($0) }
    }
}

/// Non-finite samples as clipping: NaN becomes 0, infinities become +-1.
@inline(__always)
package func melSanitizedSample(_ x: Float) -> Float {
    if x.isFinite { return x }
    if x.isNaN { return 0 }
    return x > 0 ? 1 : -1
}

/// numpy's `reflect` padding index for any (possibly far out of range) position `index` of a
/// signal of `length` samples: the signal mirrored about its first and last samples,
/// repeated with period `2 * (length - 1)`.
package func melReflectIndex(_ index: Int, length: Int) -> Int {
    if length <= 1 { return 0 }
    let period = 2 * (length - 1)
    var m = index % period
    if m < 0 { m += period }
    return m >= length ? period - m : m
}
