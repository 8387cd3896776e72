import CSampleRate

/// libsamplerate's converters, best quality first.
///
/// The default is ``medium``: a band-limited sinc converter (97 dB SNR, 90% of the band kept,
/// libsamplerate's own figures), so speech going to 16 kHz keeps content up to 7.2 kHz.
/// ``fastest`` (80%, cut at 6.4 kHz) was the default first, but Whisper's mel bands reach
/// 8 kHz and tiny.en decoded a 22.05 kHz espeak clip differently from faster-whisper after it
/// (a sentence lost); with ``medium`` the tokens are faster-whisper's again. ``best`` costs
/// about 3.5x ``medium`` for bandwidth no consumer here uses; ``linear`` and
/// ``zeroOrderHold`` alias badly and exist for comparison only. (``StreamingResampler``
/// halves high rates first with a half-band filter, which roughly halves libsamplerate's
/// work for the sinc qualities.)
public enum ResampleQuality: String, CaseIterable, Sendable {
    /// Sinc, 97 dB SNR, 97% bandwidth (slowest).
    case best
    /// Sinc, 97 dB SNR, 90% bandwidth (the default).
    case medium
    /// Sinc, 97 dB SNR, 80% bandwidth.
    case fastest
    /// Repeats the previous sample (no filtering; aliases).
    case zeroOrderHold = "zero-order-hold"
    /// Linear interpolation (no filtering; aliases).
    case linear

    /// The built-in default; see the type's documentation for why.
    public static let standard = ResampleQuality.medium

    var converterType: Int32 {
        switch self {
        case .best: Int32(SRC_SINC_BEST_QUALITY)
        case .medium: Int32(SRC_SINC_MEDIUM_QUALITY)
        case .fastest: Int32(SRC_SINC_FASTEST)
        case .zeroOrderHold: Int32(SRC_ZERO_ORDER_HOLD)
        case .linear: Int32(SRC_LINEAR)
        }
    }
}

/// The one Swift wrapper of libsamplerate: streaming conversion of float samples from one rate
/// to another, block by block, with the filter state carried across blocks.
///
/// Not thread-safe: one thread uses one instance.
package final class SampleRateConverter {
    /// Input rate in Hz.
    package let inputRate: Int
    /// Output rate in Hz.
    package let outputRate: Int
    /// Interleaved channels converted together.
    package let channels: Int
    private let ratio: Double
    private var state: OpaquePointer?
    private var scratch: [Float]
    private var ended = false
    private var inputFramesTotal = 0
    private var outputFramesTotal = 0
    /// The last few output frames, held back until the next call so the end can trim them:
    /// the zero-order-hold and linear converters may run one frame past the exact length.
    private var held: [Float] = []
    private static let heldFrames = 2

    /// Creates a converter; throws when libsamplerate refuses the rates or channel count.
    package init(quality: ResampleQuality, inputRate: Int, outputRate: Int, channels: Int = 1) throws {
        guard inputRate > 0, outputRate > 0 else {
            throw AudioError.resampleFailed(reason: "rates must be positive, got \(inputRate) Hz to \(outputRate) Hz")
        }
        let ratio = Double(outputRate) / Double(inputRate)
        guard src_is_valid_ratio(ratio) != 0 else {
            throw AudioError.resampleFailed(
                reason: "\(inputRate) Hz to \(outputRate) Hz is beyond libsamplerate's 256x ratio limit")
        }
        var error: Int32 = 0
        guard let state = src_new(quality.converterType, Int32(channels), &error) else {
            throw AudioError.resampleFailed(reason: String(cString: src_strerror(error)))
        }
        self.state = state
        self.inputRate = inputRate
        self.outputRate = outputRate
        self.channels = channels
        self.ratio = ratio
        self.scratch = [Float](repeating: 0, count: 8192 * channels)
    }

    deinit {
        if let state { src_delete(state) }
    }

    /// Output frames expected for `inputFrames` input frames (the converter's delay aside).
    package func expectedOutputFrames(forInputFrames inputFrames: Int) -> Int {
        Int((Double(inputFrames) * ratio).rounded())
    }

    /// Converts `input` (interleaved frames) and appends the output to `output`. With
    /// `endOfInput`, also drains the filter's tail; later calls append nothing.
    ///
    /// The total output is exactly `round(inputFrames * outputRate / inputRate)` frames:
    /// libsamplerate's sinc converters stop a few frames short at the end of input (their last
    /// half filter length), so the tail is completed with silence; the simple converters may run
    /// a frame long, so the last ``heldFrames`` frames are held back until the next call and
    /// trimmed at the end.
    package func process(_ input: UnsafeBufferPointer<Float>, endOfInput: Bool, appendingTo output: inout [Float]) throws {
        guard let state, !ended else { return }
        var offset = 0
        let totalFrames = input.count / channels
        inputFramesTotal += totalFrames
        output.append(contentsOf: held)
        held.removeAll(keepingCapacity: true)
        defer {
            if !ended {
                let keep = min(Self.heldFrames * channels, output.count)
                held.append(contentsOf: output[(output.count - keep)...])
                output.removeLast(keep)
            }
        }
        let scratchFrames = scratch.count / channels
        while true {
            var data = SRC_DATA()
            let framesLeft = totalFrames - offset
            var generated = 0
            var used = 0
            var code: Int32 = 0
            scratch.withUnsafeMutableBufferPointer { out in
                data.data_in = input.baseAddress.map { $0 + offset * channels }
                data.input_frames = framesLeft
                data.data_out = out.baseAddress
                data.output_frames = scratchFrames
                data.src_ratio = ratio
                data.end_of_input = endOfInput ? 1 : 0
                code = src_process(state, &data)
                generated = Int(data.output_frames_gen)
                used = Int(data.input_frames_used)
                if code == 0 && generated > 0 {
                    output.append(contentsOf: UnsafeBufferPointer(rebasing: out[0..<(generated * channels)]))
                }
            }
            if code != 0 {
                throw AudioError.resampleFailed(reason: String(cString: src_strerror(code)))
            }
            offset += used
            outputFramesTotal += generated
            if offset >= totalFrames {
                if !endOfInput { return }
                if generated == 0 {
                    ended = true
                    let expected = expectedOutputFrames(forInputFrames: inputFramesTotal)
                    if outputFramesTotal < expected {
                        output.append(contentsOf: repeatElement(0, count: (expected - outputFramesTotal) * channels))
                    } else if outputFramesTotal > expected {
                        let excess = min(outputFramesTotal - expected, Self.heldFrames)
                        output.removeLast(min(excess * channels, output.count))
                    }
                    outputFramesTotal = expected
                    return
                }
            } else if used == 0 && generated == 0 {
                // No progress with input left: cannot happen with a valid state; stop rather than spin.
                throw AudioError.resampleFailed(reason: "libsamplerate made no progress")
            }
        }
    }
}
