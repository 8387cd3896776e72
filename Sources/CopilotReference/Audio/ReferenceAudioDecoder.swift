import CopilotCore

/// The Python prototype's audio path: `soundfile.read` of the whole file, the mean of the
/// channels, then `numpy.interp` onto the target rate's time grid (linear interpolation, no
/// anti-alias filter). The baseline of the `audio` bench suite and an oracle for lengths and
/// exact decoding when no resampling happens.
public enum ReferenceAudioDecoder {
    /// Decodes the whole file at `path` to mono at `targetRate` (`nil` keeps the file's rate).
    /// Returns the samples and their rate.
    public static func decode(path: String, targetRate: Int?) throws -> (samples: [Float], sampleRate: Int) {
        let file = try AudioFileDecoder.open(path: path)
        let channels = file.channels
        var interleaved: [Float] = []
        var block = [Float](repeating: 0, count: (1 << 16) * channels)
        // soundfile.read: everything into one array before any processing.
        while true {
            let frames = try block.withUnsafeMutableBufferPointer { try file.readFrames(into: $0) }
            if frames == 0 { break }
            interleaved.append(contentsOf: block[0..<(frames * channels)])
        }
        let mono = downmix(interleaved, channels: channels)
        let rate = targetRate ?? file.sampleRate
        return (rate == file.sampleRate ? mono : linearResample(mono, from: file.sampleRate, to: rate), rate)
    }

    /// `x.mean(axis=1)` over interleaved frames, with NaN as 0 and overs clipped to ±1 first
    /// (the same cleaning the optimized path applies).
    public static func downmix(_ interleaved: [Float], channels: Int) -> [Float] {
        let frames = interleaved.count / channels
        var mono = [Float](repeating: 0, count: frames)
        for f in 0..<frames {
            var sum: Float = 0
            for c in 0..<channels {
                let x = interleaved[f * channels + c]
                sum += x.isNaN ? 0 : min(max(x, -1), 1)
            }
            mono[f] = channels == 2 ? sum * 0.5 : sum / Float(channels)
        }
        return mono
    }

    /// `numpy.interp(arange(m) * from / to, arange(n), x)` with
    /// `m = round(n * to / from)`: linear interpolation, holding the last sample past the end.
    public static func linearResample(_ x: [Float], from sourceRate: Int, to targetRate: Int) -> [Float] {
        guard !x.isEmpty else { return [] }
        let outCount = Int((Double(x.count) * Double(targetRate) / Double(sourceRate)).rounded())
        let step = Double(sourceRate) / Double(targetRate)
        var out = [Float](repeating: 0, count: outCount)
        for i in 0..<outCount {
            let t = Double(i) * step
            let j = Int(t)
            if j >= x.count - 1 {
                out[i] = x[x.count - 1]
            } else {
                let frac = Float(t - Double(j))
                out[i] = x[j] + (x[j + 1] - x[j]) * frac
            }
        }
        return out
    }
}
