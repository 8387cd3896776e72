import Foundation

/// `--split DIR`: each segment as a 16-bit WAV named by index and start time.
package enum VADSplitter {
    /// Makes `path` ready for a run's segments: created (with its parents) when missing; when
    /// it holds segment files of an earlier run (`NNNN_START.wav`, the names this writes),
    /// they are removed with `overwrite`, else ``VADError/splitDirectoryHoldsSegments(path:count:first:)``
    /// says so, so the new segments never mix with old ones. Other files are never touched.
    package static func prepareDirectory(_ path: String, overwrite: Bool) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw VADError.splitDirectoryUnusable(path: path, reason: "it is a file") }
        } else {
            do {
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            } catch {
                throw VADError.splitDirectoryUnusable(path: path, reason: error.localizedDescription)
            }
            return
        }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        let old = names.filter(isSegmentFileName).sorted()
        guard let first = old.first else { return }
        guard overwrite else { throw VADError.splitDirectoryHoldsSegments(path: path, count: old.count, first: first) }
        for name in old {
            do {
                try FileManager.default.removeItem(atPath: (path as NSString).appendingPathComponent(name))
            } catch {
                throw VADError.splitDirectoryUnusable(path: path, reason: "cannot remove \(name): \(error.localizedDescription)")
            }
        }
    }

    /// Whether `name` is one of ours: four or more digits, `_`, seconds with three decimals, `.wav`.
    static func isSegmentFileName(_ name: String) -> Bool {
        func digits(_ s: Substring) -> Bool { !s.isEmpty && s.utf8.allSatisfy { (48...57).contains($0) } }
        let parts = name.split(separator: "_", maxSplits: 1)
        guard parts.count == 2, parts[0].count >= 4, digits(parts[0]), parts[1].hasSuffix(".wav") else { return false }
        let seconds = parts[1].dropLast(4).split(separator: ".", omittingEmptySubsequences: false)
        return seconds.count == 2 && digits(seconds[0]) && seconds[1].count == 3 && digits(seconds[1])
    }

    /// Writes `samples` as `directory/segment.splitFileName` (atomically, via AudioFileWriter).
    package static func write(_ segment: SpeechSegment, _ samples: UnsafeBufferPointer<Float>, directory: String) throws {
        let path = (directory as NSString).appendingPathComponent(segment.splitFileName)
        let writer = try AudioFileWriter(path: path, format: .wav, sampleRate: segment.sampleRate, channels: 1)
        try writer.write(samples)
        try writer.finish()
    }
}

extension AudioStream {
    /// Reads the stream to its end in chunks of up to `chunkSamples`, handing each to `body`
    /// as soon as it arrives (a live input hands out what it has).
    package func forEachChunk(chunkSamples: Int = 4_096, _ body: (UnsafeBufferPointer<Float>) throws -> Void) throws {
        var buffer = [Float](repeating: 0, count: max(1, chunkSamples))
        while true {
            let n = try buffer.withUnsafeMutableBufferPointer { try read(into: $0) }
            if n == 0 { return }
            try buffer.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[0..<n])) }
        }
    }
}
