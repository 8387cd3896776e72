import Foundation

/// Writes a WAV, FLAC, Ogg Vorbis, Opus or MP3 file through libsndfile, atomically: the audio goes to a temporary file
/// in the destination's directory, and ``finish()`` publishes it (``StagedFile``: fsync, rename,
/// directory fsync), so a crash or an error never leaves a half-written file there. A destination that is a device or a FIFO
/// (`/dev/null`, `/dev/stdout`) is written in place: renaming over it would replace the node.
///
/// Samples are floats in [-1, 1], interleaved when `channels > 1`; values beyond full scale
/// clip (never wrap) and NaN is written as silence.
public final class AudioFileWriter {
    /// The final path.
    public let path: String
    /// Container format.
    public let format: AudioFileFormat
    /// Frames per second, in Hz.
    public let sampleRate: Int
    /// Interleaved channels.
    public let channels: Int
    /// Where libsndfile writes: a temporary file, or ``path`` itself when it is special.
    private let staged: StagedFile
    private var file: SndFile?
    private var scratch: [Float] = []
    /// Frames written so far.
    public private(set) var framesWritten = 0

    /// Creates the temporary file next to `path`.
    public init(path: String, format: AudioFileFormat, sampleRate: Int, channels: Int = 1,
                encoding: AudioFileEncoding = .pcm16) throws {
        guard (1...AudioError.maximumSampleRate).contains(sampleRate) else {
            throw AudioError.invalidSampleRate(input: path, rate: sampleRate)
        }
        guard (1...AudioError.maximumChannels).contains(channels) else {
            throw AudioError.invalidChannelCount(input: path, channels: channels)
        }
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw AudioError.writeFailed(path: path, reason: "directory \(directory) does not exist")
        }
        self.path = path
        self.format = format
        self.sampleRate = sampleRate
        self.channels = channels
        self.staged = StagedFile(path)
        do {
            self.file = try SndFile.create(
                path: staged.stagingPath, format: format, encoding: encoding, sampleRate: sampleRate, channels: channels)
        } catch AudioError.writeFailed(_, let reason) {
            throw AudioError.writeFailed(path: path, reason: reason)
        }
    }

    deinit {
        try? file?.close()
        staged.discard()  // nothing if it was published
    }

    /// Appends interleaved samples; `samples.count` must be a multiple of `channels`.
    public func write(_ samples: UnsafeBufferPointer<Float>) throws {
        guard let file else {
            throw AudioError.writeFailed(path: path, reason: "the writer is already finished")
        }
        guard samples.count % channels == 0 else {
            throw AudioError.writeFailed(path: path, reason: "\(samples.count) samples is not a whole number of \(channels)-channel frames")
        }
        if scratch.count < samples.count { scratch = [Float](repeating: 0, count: samples.count) }
        for i in 0..<samples.count { scratch[i] = sanitizedSample(samples[i]) }
        do {
            try scratch.withUnsafeBufferPointer {
                try file.write(interleaved: UnsafeBufferPointer(rebasing: $0[0..<samples.count]))
            }
        } catch AudioError.writeFailed(_, let reason) {
            throw AudioError.writeFailed(path: path, reason: reason)
        }
        framesWritten += samples.count / channels
    }

    /// Appends interleaved samples from an array.
    public func write(_ samples: [Float]) throws {
        try samples.withUnsafeBufferPointer { try write($0) }
    }

    /// Closes the file and moves it to ``path``. Later writes throw.
    public func finish() throws {
        guard let file else { return }
        self.file = nil
        do {
            try file.close()
        } catch {
            staged.discard()
            throw AudioError.writeFailed(path: path, reason: "closing failed")
        }
        do {
            try staged.publish()
        } catch {
            staged.discard()
            throw AudioError.writeFailed(path: path, reason: "\(error.operation): \(error.reason)")
        }
    }
}
