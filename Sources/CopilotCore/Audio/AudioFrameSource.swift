/// A producer of interleaved float frames at its own sample rate and channel count: a decoded
/// file, raw PCM, or a live capture. ``AudioStream`` turns any of them into mono samples at the
/// rate a consumer needs.
package protocol AudioFrameSource: AnyObject {
    /// Frames per second the source delivers.
    var sampleRate: Int { get }
    /// Interleaved channels per frame.
    var channels: Int { get }
    /// Names the input in messages: a path, `stdin` or `ALSA device NAME`.
    var inputName: String { get }
    /// Frames the source announces in advance (a file header), or `nil` when unknown.
    var expectedFrames: Int? { get }
    /// `true` for audio arriving in real time (a capture, a pipe): reads hand out what has
    /// arrived instead of waiting for a full block, ``stop()`` ends it, and it may end with no
    /// frames when stopped early.
    var isLive: Bool { get }
    /// Frames lost before they reached the consumer (a capture's overruns); 0 for files.
    var overruns: Int { get }

    /// Reads up to `buffer.count / channels` whole frames, interleaved, as floats in [-1, 1]
    /// for integer sources (float sources pass through unclamped). Returns the frame count,
    /// 0 at the end. May return fewer frames than asked before the end (a pipe, a capture).
    func readFrames(into buffer: UnsafeMutableBufferPointer<Float>) throws -> Int

    /// Asks a live source to end; the frames already captured are still delivered, then 0.
    /// No effect on files.
    func stop()
}

extension AudioFrameSource {
    /// Unknown unless the source says.
    package var expectedFrames: Int? { nil }
    /// Not live unless the source says.
    package var isLive: Bool { false }
    /// Nothing lost unless the source says.
    package var overruns: Int { 0 }
    /// Nothing to stop for a file.
    package func stop() {}
}

/// Frames already in memory, served in order: generated signals in tests and benchmarks.
package final class MemoryFrameSource: AudioFrameSource {
    /// Frames per second.
    package let sampleRate: Int
    /// Interleaved channels.
    package let channels: Int
    /// Name in messages.
    package let inputName: String
    /// All frames held.
    package var expectedFrames: Int? { samples.count / channels }
    private let samples: [Float]
    private var position = 0

    /// Serves `interleaved` (whole frames of `channels` samples) at `sampleRate`.
    package init(interleaved: [Float], sampleRate: Int, channels: Int, name: String = "memory") {
        self.samples = interleaved
        self.sampleRate = sampleRate
        self.channels = channels
        self.inputName = name
    }

    /// Copies the next frames.
    package func readFrames(into buffer: UnsafeMutableBufferPointer<Float>) throws -> Int {
        let frames = min(buffer.count / channels, (samples.count - position) / channels)
        guard frames > 0, let out = buffer.baseAddress else { return 0 }
        samples.withUnsafeBufferPointer { s in
            if let base = s.baseAddress { out.update(from: base + position, count: frames * channels) }
        }
        position += frames * channels
        return frames
    }
}
