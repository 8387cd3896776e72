import CopilotCore

/// A small random Whisper for the start-up self-check: the real model's width, heads, mel
/// bands and embedding precision (so the optimized side runs the same kernels at the same
/// row widths), but one encoder and one decoder layer, 4 audio positions and 256 tokens, so
/// the reference's plain loops check it in milliseconds instead of seconds.
package enum SelfCheckModel {
    /// Weights shaped like `model`'s, filled from a fixed seed.
    package static func weights(like model: WhisperDimensions, halfPrecisionEmbedding: Bool, seed: UInt64 = 7) -> WhisperWeights {
        var generator = SplitMix64(seed: seed)
        func random(_ n: Int, scale: Float) -> [Float] {
            (0..<n).map { _ in Float(generator.nextUnit() * 2 - 1) * scale }
        }
        let d = model.width, mels = model.melCount, f = model.ffnWidth
        let audioContext = 4, textContext = 16, vocabulary = 256
        func linear(_ out: Int, _ inCount: Int) -> WhisperLinear {
            WhisperLinear(
                weight: random(out * inCount, scale: 1 / Float(inCount).squareRoot()), bias: random(out, scale: 0.1),
                outCount: out, inCount: inCount)
        }
        func norm() -> WhisperLayerNorm {
            WhisperLayerNorm(gamma: random(d, scale: 0.2).map { 1 + $0 }, beta: random(d, scale: 0.1))
        }
        let dims = WhisperDimensions(
            melCount: mels, audioContext: audioContext, width: d, headCount: model.headCount, encoderLayerCount: 1,
            decoderLayerCount: 1, ffnWidth: f, vocabularySize: vocabulary, textContext: textContext)
        let encoder = WhisperEncoderLayer(
            attentionNorm: norm(), qkv: linear(3 * d, d), attentionOut: linear(d, d), ffnNorm: norm(),
            ffnIn: linear(f, d), ffnOut: linear(d, f))
        let decoder = WhisperDecoderLayer(
            selfNorm: norm(), selfQKV: linear(3 * d, d), selfOut: linear(d, d), crossNorm: norm(),
            crossQuery: linear(d, d), crossKV: linear(2 * d, d), crossOut: linear(d, d), ffnNorm: norm(),
            ffnIn: linear(f, d), ffnOut: linear(d, f))
        let table = random(vocabulary * d, scale: 0.5)
        let embedding = halfPrecisionEmbedding
            ? WhisperEmbedding(halves: table.map { Float16($0).bitPattern }, vocabularySize: vocabulary, width: d)
            : WhisperEmbedding(floats: table, vocabularySize: vocabulary, width: d)
        return WhisperWeights(
            dimensions: dims, conv1Weight: random(d * mels * 3, scale: 0.3), conv1Bias: random(d, scale: 0.1),
            conv2Weight: random(d * d * 3, scale: 0.1), conv2Bias: random(d, scale: 0.1),
            encoderPositions: random(audioContext * d, scale: 0.5), encoderLayers: [encoder], encoderNorm: norm(),
            tokenEmbedding: embedding, decoderPositions: random(textContext * d, scale: 0.2),
            decoderLayers: [decoder], decoderNorm: norm())
    }
}
