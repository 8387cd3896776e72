import CopilotCore
import CopilotReference
import Foundation

/// `audio` cases: FLAC decoding, 44.1 kHz stereo to 16 kHz mono resampling, and both end to
/// end, the optimized streaming path against the Python prototype's decode-everything-then-
/// `numpy.interp` path. Input: a generated 44.1 kHz stereo FLAC (10 minutes; 20 s with
/// `--quick`), written once per length and seed into the temporary directory and reused.
enum AudioBenchSuite {
    static let suite = BenchSuite(name: "audio") { ctx in
        let seconds = ctx.quick ? 20 : 600
        let label = ctx.quick ? "20s" : "10min"
        let sourceRate = 44_100
        let targetRate = 16_000
        let audioSeconds = Double(seconds)
        let sourceFrames = Double(seconds * sourceRate)
        return [
            BenchCase(
                name: "audio/decode FLAC \(label)", unit: "frames", unitsPerOp: sourceFrames,
                audioSecondsPerOp: audioSeconds, optimizedThreads: 2
            ) {
                let path = try benchFLAC(seconds: seconds, rate: sourceRate, seed: ctx.seed)
                return BenchOperations(
                    reference: { benchBlackHole(try? ReferenceAudioDecoder.decode(path: path, targetRate: nil)) },
                    optimized: { benchBlackHole(try? streamChecksum(path: path, targetRate: nil)) })
            },
            // The prototype resampled with numpy.interp (linear, no anti-alias filter): the
            // first row is the same algorithm and quality on both sides, the second what copilot
            // runs by default (a band-limited sinc filter), slower and not comparable in quality.
            resampleCase(
                name: "audio/resample linear 44.1k stereo->16k mono \(label)", quality: .linear, baseline: "numpy.interp-style linear",
                seconds: seconds, seed: ctx.seed),
            resampleCase(
                name: "audio/resample sinc (medium) 44.1k stereo->16k mono \(label)", quality: .medium,
                baseline: "linear (lower quality, aliases)", seconds: seconds, seed: ctx.seed),
            BenchCase(
                name: "audio/decode+resample \(label) FLAC", unit: "frames", unitsPerOp: sourceFrames,
                audioSecondsPerOp: audioSeconds, baselineLabel: "decode all, then linear", optimizedThreads: 2
            ) {
                let path = try benchFLAC(seconds: seconds, rate: sourceRate, seed: ctx.seed)
                return BenchOperations(
                    reference: { benchBlackHole(try? ReferenceAudioDecoder.decode(path: path, targetRate: targetRate)) },
                    optimized: { benchBlackHole(try? streamChecksum(path: path, targetRate: targetRate)) })
            },
        ]
    }

    /// Downmix and resample of `seconds` of 44.1 kHz stereo in memory to 16 kHz mono: the
    /// streaming resampler at `quality` against the reference's whole-array linear version.
    static func resampleCase(name: String, quality: ResampleQuality, baseline: String, seconds: Int, seed: UInt64) -> BenchCase {
        let sourceRate = 44_100, targetRate = 16_000
        return BenchCase(
            name: name, unit: "frames", unitsPerOp: Double(seconds * sourceRate), audioSecondsPerOp: Double(seconds),
            baselineLabel: baseline
        ) {
            let stereo = benchSignal(frames: seconds * sourceRate, seed: seed)
            return BenchOperations(
                reference: {
                    let mono = ReferenceAudioDecoder.downmix(stereo, channels: 2)
                    benchBlackHole(ReferenceAudioDecoder.linearResample(mono, from: sourceRate, to: targetRate))
                },
                optimized: {
                    let source = MemoryFrameSource(interleaved: stereo, sampleRate: sourceRate, channels: 2)
                    benchBlackHole(try? drainChecksum(AudioStream(source: source, targetRate: targetRate, quality: quality)))
                })
        }
    }

    /// Opens `path` as a consumer would and reads it through a reused block.
    static func streamChecksum(path: String, targetRate: Int?) throws -> Float {
        try drainChecksum(AudioStream.open(AudioInputRequest(source: .file(path: path), targetRate: targetRate)))
    }

    static func drainChecksum(_ stream: AudioStream) throws -> Float {
        var block = [Float](repeating: 0, count: 4096)
        var sum: Float = 0
        while true {
            let n = try block.withUnsafeMutableBufferPointer { try stream.read(into: $0) }
            if n == 0 { return sum }
            sum += block[0] + block[n - 1]
        }
    }

    /// Speech-band test signal: a few drifting tones plus low noise, different per channel.
    static func benchSignal(frames: Int, seed: UInt64) -> [Float] {
        var state = seed | 1
        var out = [Float](repeating: 0, count: frames * 2)
        for i in 0..<frames {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let noise = Float(Int32(truncatingIfNeeded: state >> 32)) / Float(Int32.max) * 0.05
            let t = Float(i) / 44_100
            let left = 0.3 * sinf(2 * .pi * 220 * t) + 0.2 * sinf(2 * .pi * 1_300 * t + 0.5 * sinf(t)) + noise
            let right = 0.3 * sinf(2 * .pi * 330 * t) + 0.1 * sinf(2 * .pi * 3_100 * t) - noise
            out[2 * i] = left
            out[2 * i + 1] = right
        }
        return out
    }

    /// The cached FLAC for a length and seed, generated on first use.
    static func benchFLAC(seconds: Int, rate: Int, seed: UInt64) throws -> String {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("copilot-bench-audio-\(seconds)s-\(rate)-\(seed).flac").path
        if FileManager.default.fileExists(atPath: path) { return path }
        let writer = try AudioFileWriter(path: path, format: .flac, sampleRate: rate, channels: 2)
        let chunkSeconds = 10
        for chunk in stride(from: 0, to: seconds, by: chunkSeconds) {
            let frames = min(chunkSeconds, seconds - chunk) * rate
            try writer.write(benchSignal(frames: frames, seed: seed &+ UInt64(chunk)))
        }
        try writer.finish()
        return path
    }
}
