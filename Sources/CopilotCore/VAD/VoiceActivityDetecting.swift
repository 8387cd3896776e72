import Foundation

/// A streaming voice activity detector over 16 kHz mono audio.
///
/// Feed consecutive frames of exactly `frameSamples` samples; each call returns the frame's
/// speech probability and decision, using the state carried from earlier frames (noise floor,
/// smoothing, hangover). `reset()` forgets that state, as if the stream started again.
/// Samples are floats in [-1, 1]; NaN and infinities are treated as clipping (full scale).
public protocol VoiceActivityDetecting: AnyObject {
    /// Samples per frame (at 16 kHz), fixed at creation.
    var frameSamples: Int { get }
    /// Classifies the next frame; `frame.count` must equal `frameSamples`.
    func process(_ frame: UnsafeBufferPointer<Float>) -> VADDecision
    /// Forgets all state carried across frames.
    func reset()
}

/// One frame's result.
public struct VADDecision: Equatable, Sendable {
    /// Speech probability (or, for `energy`, 1 or 0), in [0, 1].
    public var probability: Float
    /// The decision after smoothing and hangover.
    public var isSpeech: Bool

    /// Creates a result.
    public init(probability: Float, isSpeech: Bool) {
        self.probability = probability
        self.isSpeech = isSpeech
    }
}

/// The detectors `copilot vad --detector` offers.
public enum VADDetectorKind: String, CaseIterable, Sendable {
    /// RMS above a fixed threshold per chunk (the Python prototype).
    case energy
    /// The adaptive spectral detector (`SpectralVoiceDetector`).
    case `default`
}

/// Errors of the VAD area.
public enum VADError: Error, LocalizedError, Equatable {
    /// `--frame-ms` (or `vad.frame_ms`) is not 10, 20 or 30.
    case invalidFrameMs(Int)
    /// `--aggressiveness` is outside 0...3.
    case invalidAggressiveness(Int)
    /// A threshold is outside its range (name, value, allowed range).
    case invalidThreshold(name: String, value: Double, range: ClosedRange<Double>)
    /// A duration flag is negative or too large (name, value in ms).
    case invalidDuration(name: String, ms: Int)
    /// The `--split` path exists and is not a directory, or cannot be created.
    case splitDirectoryUnusable(path: String, reason: String)
    /// The `--split` directory holds segment files of an earlier run (`--overwrite` replaces them).
    case splitDirectoryHoldsSegments(path: String, count: Int, first: String)

    public var errorDescription: String? {
        switch self {
        case .invalidFrameMs(let ms):
            return "--frame-ms \(ms) is not supported; use 10, 20 or 30."
        case .invalidAggressiveness(let a):
            return "--aggressiveness \(a) is out of range; use 0 (keeps most speech) to 3 (strictest)."
        case .invalidThreshold(let name, let value, let range):
            return "\(name) \(value) is out of range; use a value in \(range.lowerBound)...\(range.upperBound)."
        case .invalidDuration(let name, let ms):
            return "\(name) \(ms) is out of range; use 0...600000 milliseconds."
        case .splitDirectoryUnusable(let path, let reason):
            return "--split \(path) cannot hold the segments (\(reason)); name a directory."
        case .splitDirectoryHoldsSegments(let path, let count, let first):
            return "--split directory \(path) holds \(count) segment file\(count == 1 ? "" : "s") of an earlier run (\(first)...); pass --overwrite to replace them, or name another directory."
        }
    }
}

/// Shared numeric helpers of the detectors (also used by the CopilotReference twins, so both
/// compute the same function).
package enum VADMath {
    /// The sample as the detectors see it: NaN becomes +1 (clipping), values are clamped to
    /// [-1, 1] (so ±infinity become ±1).
    @inline(__always)
    package static func sanitize(_ x: Float) -> Float {
        x.isNaN ? 1 : min(max(x, -1), 1)
    }

    /// Natural logarithm of a positive normal float, to about 2e-5 absolute: exponent from
    /// the bits, mantissa by a 5th-order polynomial of log2 on [1, 2). Inputs must be > 0
    /// and finite (callers add a floor). 
    @inline(__always)
    package static func fastLog(_ x: Float) -> Float {
        let bits = x.bitPattern
        let exponent = Float(Int32(bitPattern: (bits >> 23) & 0xFF) - 127)
        let m = Float(bitPattern: (bits & 0x007F_FFFF) | 0x3F80_0000) - 1  // in [0, 1)
        // log2(1 + m) fitted on [0, 1), zero at m = 0.
        let p = m * (1.441_826_0 + m * (-0.708_684_5 + m * (0.415_430_0 + m * (-0.194_433_5 + m * 0.045_890_5))))
        return (exponent + p) * 0.693_147_2
    }

    /// tanh by a clamped rational approximation (error below 1e-4 on the real line).
    @inline(__always)
    package static func fastTanh(_ x: Float) -> Float {
        let c = min(max(x, -4.97), 4.97)
        let c2 = c * c
        let num = c * (135_135 + c2 * (17_325 + c2 * (378 + c2)))
        let den = 135_135 + c2 * (62_370 + c2 * (3_150 + c2 * 28))
        return min(max(num / den, -1), 1)
    }

    /// `fastTanh` on every lane (the same operations, so the same results as the scalar one).
    @inline(__always)
    package static func fastTanh(_ x: SIMD16<Float>) -> SIMD16<Float> {
        let c = clamp(x, 4.97)
        let c2 = c * c
        let num = c * (135_135 + c2 * (17_325 + c2 * (378 + c2)))
        let den = 135_135 + c2 * (62_370 + c2 * (3_150 + c2 * 28))
        return clamp(num / den, 1)
    }

    /// Lanes clamped to [-limit, limit] by compare-and-select (the standard library's
    /// `clamped` is not vectorized here), NaN lanes kept.
    @inline(__always)
    package static func clamp(_ x: SIMD16<Float>, _ limit: Float) -> SIMD16<Float> {
        x.replacing(with: -limit, where: x .< -limit).replacing(with: limit, where: x .> limit)
    }

    /// `sanitize` on eight lanes: NaN to +1, clamped to [-1, 1].
    @inline(__always)
    package static func sanitize(_ x: SIMD8<Float>) -> SIMD8<Float> {
        x.replacing(with: -1, where: x .< -1).replacing(with: 1, where: x .> 1).replacing(with: 1, where: x .!= x)
    }
}
