import Foundation

/// Decodes a file on its own thread, a few blocks ahead of the consumer, so decoding (libFLAC,
/// libmpg123...) overlaps the consumer's downmix, resampling and analysis on a second core.
///
/// The queue holds at most `depth` blocks; the decoding thread waits when it is full, so memory
/// stays bounded whatever the file's length. Errors reach the consumer in order, after the
/// blocks decoded before them. ``stop()`` (and the stream's `deinit`) ends the thread.
package final class ReadAheadSource: AudioFrameSource, @unchecked Sendable {
    /// Rate of the wrapped source.
    package let sampleRate: Int
    /// Channels of the wrapped source.
    package let channels: Int
    /// Name of the wrapped source.
    package let inputName: String
    /// Frame count the wrapped source announces.
    package let expectedFrames: Int?

    private let condition = NSCondition()
    // Guarded by `condition`:
    private var blocks: [[Float]] = []
    private var headOffset = 0
    private var spare: [[Float]] = []
    private var finished = false
    private var failure: Error?
    private var cancelled = false

    /// Starts decoding `source` in blocks of `blockFrames` frames, at most `depth` ahead.
    package init(_ source: AudioFrameSource, blockFrames: Int = 4096, depth: Int = 8) {
        sampleRate = source.sampleRate
        channels = source.channels
        inputName = source.inputName
        expectedFrames = source.expectedFrames
        let worker = SourceBox(source)
        let samplesPerBlock = max(1, blockFrames) * source.channels
        let maximumBlocks = max(1, depth)
        let thread = Thread { [self] in
            self.decodeLoop(worker.source, samplesPerBlock: samplesPerBlock, maximumBlocks: maximumBlocks)
        }
        thread.name = "copilot-decode"
        thread.start()
    }

    private func decodeLoop(_ source: AudioFrameSource, samplesPerBlock: Int, maximumBlocks: Int) {
        while true {
            condition.lock()
            while blocks.count >= maximumBlocks && !cancelled { condition.wait() }
            let stop = cancelled
            var block = spare.popLast() ?? []
            condition.unlock()
            if stop { break }
            if block.count != samplesPerBlock { block = [Float](repeating: 0, count: samplesPerBlock) }
            let frames: Int
            do {
                frames = try block.withUnsafeMutableBufferPointer { try source.readFrames(into: $0) }
            } catch {
                condition.lock()
                failure = error
                condition.unlock()
                break
            }
            if frames == 0 { break }
            if frames * channels < block.count { block.removeLast(block.count - frames * channels) }
            condition.lock()
            blocks.append(block)
            condition.broadcast()
            condition.unlock()
        }
        condition.lock()
        finished = true
        condition.broadcast()
        condition.unlock()
    }

    /// Copies decoded frames, waiting for the decoder when none are ready; 0 at the end; the
    /// decoder's error, if any, once the frames before it are delivered.
    package func readFrames(into buffer: UnsafeMutableBufferPointer<Float>) throws -> Int {
        guard let out = buffer.baseAddress else { return 0 }
        let wantSamples = (buffer.count / channels) * channels
        guard wantSamples > 0 else { return 0 }
        condition.lock()
        defer { condition.unlock() }
        while blocks.isEmpty && !finished { condition.wait() }
        var copied = 0
        while copied < wantSamples, let head = blocks.first {
            let n = min(wantSamples - copied, head.count - headOffset)
            head.withUnsafeBufferPointer { h in
                if let base = h.baseAddress { (out + copied).update(from: base + headOffset, count: n) }
            }
            copied += n
            headOffset += n
            if headOffset == head.count {
                spare.append(blocks.removeFirst())
                headOffset = 0
                condition.broadcast()
            }
        }
        if copied == 0, let failure { throw failure }
        return copied / channels
    }

    /// Ends the decoding thread (used when the consumer stops early).
    package func stop() {
        condition.lock()
        cancelled = true
        condition.broadcast()
        condition.unlock()
    }
}

/// Hands the wrapped source to the decoding thread, its only user after start.
private final class SourceBox: @unchecked Sendable {
    let source: AudioFrameSource
    init(_ source: AudioFrameSource) { self.source = source }
}
