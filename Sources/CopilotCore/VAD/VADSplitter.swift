import Foundation

/// `--split DIR`: each segment as a 16-bit WAV named by index and start time.
public enum VADSplitter {
    /// Throws `VADError.splitDirectoryMissing` unless `path` is an existing directory.
    public static func checkDirectory(_ path: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw VADError.splitDirectoryMissing(path: path)
        }
    }

    /// Writes `samples` as `directory/segment.splitFileName` (atomically, via AudioFileWriter).
    public static func write(_ segment: SpeechSegment, _ samples: UnsafeBufferPointer<Float>, directory: String) throws {
        let path = (directory as NSString).appendingPathComponent(segment.splitFileName)
        let writer = try AudioFileWriter(path: path, format: .wav, sampleRate: segment.sampleRate, channels: 1)
        try writer.write(samples)
        try writer.finish()
    }
}

extension AudioStream {
    /// Reads the stream to its end in chunks of up to `chunkSamples`, handing each to `body`
    /// as soon as it arrives (a live input hands out what it has).
    public func forEachChunk(chunkSamples: Int = 4_096, _ body: (UnsafeBufferPointer<Float>) throws -> Void) throws {
        var buffer = [Float](repeating: 0, count: max(1, chunkSamples))
        while true {
            let n = try buffer.withUnsafeMutableBufferPointer { try read(into: $0) }
            if n == 0 { return }
            try buffer.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[0..<n])) }
        }
    }
}
