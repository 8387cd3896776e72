import Foundation

/// Sizes of a Whisper model, read from its tensors (tiny.en: 80 mels, width 384, 6 heads,
/// 4 + 4 layers, FFN 1536, vocabulary 51864, 1500 audio and 448 text positions).
package struct WhisperDimensions: Sendable, Equatable {
    /// Mel bins per frame (80).
    package var melCount: Int
    /// Encoder output positions per 30 s window (1500, half the 3000 mel frames).
    package var audioContext: Int
    /// Model width d.
    package var width: Int
    /// Attention heads (each of width d / heads).
    package var headCount: Int
    /// Encoder layers.
    package var encoderLayerCount: Int
    /// Decoder layers.
    package var decoderLayerCount: Int
    /// Hidden width of the feed-forward blocks.
    package var ffnWidth: Int
    /// Vocabulary size (rows of the token embedding).
    package var vocabularySize: Int
    /// Maximum decoder positions (448).
    package var textContext: Int

    /// Creates dimensions (used by tests to build small random models).
    package init(
        melCount: Int, audioContext: Int, width: Int, headCount: Int, encoderLayerCount: Int,
        decoderLayerCount: Int, ffnWidth: Int, vocabularySize: Int, textContext: Int
    ) {
        self.melCount = melCount
        self.audioContext = audioContext
        self.width = width
        self.headCount = headCount
        self.encoderLayerCount = encoderLayerCount
        self.decoderLayerCount = decoderLayerCount
        self.ffnWidth = ffnWidth
        self.vocabularySize = vocabularySize
        self.textContext = textContext
    }

    /// Mel frames per window (twice the audio context: conv2 has stride 2).
    package var melFrames: Int { 2 * audioContext }
    /// Width of one attention head.
    package var headWidth: Int { width / headCount }
}

/// A linear layer y = x W^T + b with W stored [outCount, inCount] row-major.
package struct WhisperLinear: Sendable {
    /// Weights, `outCount * inCount` values.
    package var weight: [Float]
    /// Bias, `outCount` values (zeros where the model has none).
    package var bias: [Float]
    /// Output features.
    package var outCount: Int
    /// Input features.
    package var inCount: Int

    /// Creates a layer; `bias` nil means zeros.
    package init(weight: [Float], bias: [Float]?, outCount: Int, inCount: Int) {
        self.weight = weight
        self.bias = bias ?? [Float](repeating: 0, count: outCount)
        self.outCount = outCount
        self.inCount = inCount
    }
}

/// Layer normalisation parameters (eps 1e-5).
package struct WhisperLayerNorm: Sendable {
    /// Scale.
    package var gamma: [Float]
    /// Shift.
    package var beta: [Float]

    /// Creates the pair.
    package init(gamma: [Float], beta: [Float]) {
        self.gamma = gamma
        self.beta = beta
    }
}

/// One pre-norm encoder block: self-attention with fused q;k;v, then the feed-forward block.
package struct WhisperEncoderLayer: Sendable {
    /// Layer norm before the self-attention.
    package var attentionNorm: WhisperLayerNorm
    /// Fused query, key, value projection [3d, d].
    package var qkv: WhisperLinear
    /// Self-attention output projection [d, d].
    package var attentionOut: WhisperLinear
    /// Layer norm before the feed-forward block.
    package var ffnNorm: WhisperLayerNorm
    /// Feed-forward input projection [4d, d].
    package var ffnIn: WhisperLinear
    /// Feed-forward output projection [d, 4d].
    package var ffnOut: WhisperLinear

    /// Creates a block.
    package init(
        attentionNorm: WhisperLayerNorm, qkv: WhisperLinear, attentionOut: WhisperLinear, ffnNorm: WhisperLayerNorm,
        ffnIn: WhisperLinear, ffnOut: WhisperLinear
    ) {
        self.attentionNorm = attentionNorm
        self.qkv = qkv
        self.attentionOut = attentionOut
        self.ffnNorm = ffnNorm
        self.ffnIn = ffnIn
        self.ffnOut = ffnOut
    }
}

/// One pre-norm decoder block: causal self-attention, cross-attention on the encoder output,
/// feed-forward.
package struct WhisperDecoderLayer: Sendable {
    /// Layer norm before the self-attention.
    package var selfNorm: WhisperLayerNorm
    /// Fused query, key, value projection [3d, d].
    package var selfQKV: WhisperLinear
    /// Self-attention output projection [d, d].
    package var selfOut: WhisperLinear
    /// Layer norm before the cross-attention.
    package var crossNorm: WhisperLayerNorm
    /// Query projection of the cross-attention [d, d].
    package var crossQuery: WhisperLinear
    /// Fused key, value projection of the encoder output [2d, d].
    package var crossKV: WhisperLinear
    /// Cross-attention output projection [d, d].
    package var crossOut: WhisperLinear
    /// Layer norm before the feed-forward block.
    package var ffnNorm: WhisperLayerNorm
    /// Feed-forward input projection [4d, d].
    package var ffnIn: WhisperLinear
    /// Feed-forward output projection [d, 4d].
    package var ffnOut: WhisperLinear

    /// Creates a block.
    package init(
        selfNorm: WhisperLayerNorm, selfQKV: WhisperLinear, selfOut: WhisperLinear, crossNorm: WhisperLayerNorm,
        crossQuery: WhisperLinear, crossKV: WhisperLinear, crossOut: WhisperLinear, ffnNorm: WhisperLayerNorm,
        ffnIn: WhisperLinear, ffnOut: WhisperLinear
    ) {
        self.selfNorm = selfNorm
        self.selfQKV = selfQKV
        self.selfOut = selfOut
        self.crossNorm = crossNorm
        self.crossQuery = crossQuery
        self.crossKV = crossKV
        self.crossOut = crossOut
        self.ffnNorm = ffnNorm
        self.ffnIn = ffnIn
        self.ffnOut = ffnOut
    }
}

/// Every weight of a Whisper model as float32, shared read-only by the encoder and decoder
/// (both the optimized ones and the CopilotReference twins).
package final class WhisperWeights: Sendable {
    /// The model dimensions.
    package let dimensions: WhisperDimensions
    /// conv1 [d, mels, 3] (stride 1, pad 1) and its bias.
    package let conv1Weight: [Float]
    /// conv1 bias [d].
    package let conv1Bias: [Float]
    /// conv2 [d, d, 3] (stride 2, pad 1) and its bias.
    package let conv2Weight: [Float]
    /// conv2 bias [d].
    package let conv2Bias: [Float]
    /// Sinusoidal encoder positions [audioContext, d].
    package let encoderPositions: [Float]
    /// Encoder blocks in order.
    package let encoderLayers: [WhisperEncoderLayer]
    /// Final encoder layer norm.
    package let encoderNorm: WhisperLayerNorm
    /// Token embeddings [vocabulary, d], also the output projection (tied).
    package let tokenEmbedding: WhisperEmbedding
    /// Learned decoder positions [textContext, d].
    package let decoderPositions: [Float]
    /// Decoder blocks in order.
    package let decoderLayers: [WhisperDecoderLayer]
    /// Final decoder layer norm.
    package let decoderNorm: WhisperLayerNorm

    /// Assembles weights (no checks: ``load(from:)`` validates a file; tests build random ones).
    package init(
        dimensions: WhisperDimensions, conv1Weight: [Float], conv1Bias: [Float], conv2Weight: [Float],
        conv2Bias: [Float], encoderPositions: [Float], encoderLayers: [WhisperEncoderLayer],
        encoderNorm: WhisperLayerNorm, tokenEmbedding: WhisperEmbedding, decoderPositions: [Float],
        decoderLayers: [WhisperDecoderLayer], decoderNorm: WhisperLayerNorm
    ) {
        self.dimensions = dimensions
        self.conv1Weight = conv1Weight
        self.conv1Bias = conv1Bias
        self.conv2Weight = conv2Weight
        self.conv2Bias = conv2Bias
        self.encoderPositions = encoderPositions
        self.encoderLayers = encoderLayers
        self.encoderNorm = encoderNorm
        self.tokenEmbedding = tokenEmbedding
        self.decoderPositions = decoderPositions
        self.decoderLayers = decoderLayers
        self.decoderNorm = decoderNorm
    }

    /// The sizes of the Whisper model in a CTranslate2 `WhisperSpec` file, read from its tensor
    /// headers (no weight is converted).
    ///
    /// The dimensions come from conv1 (width, mels), the position tables (contexts), the
    /// embedding (vocabulary), `ffn/linear_0` (FFN width), the number of `layer_i` groups and
    /// the `num_heads` scalars. Throws when they are not a Whisper copilot can run: other than
    /// 80 mel bands (the features copilot computes), 1500 audio positions (30 s windows) or
    /// 448 text positions, or architectural switches other than Whisper's.
    package static func dimensions(of file: ModelFile) throws -> WhisperDimensions {
        let path = file.path
        guard file.specName == "WhisperSpec" else {
            throw WhisperModelError.foreignModel(path: path, spec: file.specName)
        }
        let conv1 = try file.require("encoder/conv1/weight")
        guard conv1.shape.count == 3, conv1.shape[2] == 3, conv1.shape[0] > 0, conv1.shape[1] > 0 else {
            throw WhisperModelError.shapeMismatch(
                path: path, tensor: conv1.name, expected: [conv1.shape.first ?? 0, conv1.shape.dropFirst().first ?? 0, 3],
                actual: conv1.shape)
        }
        let d = conv1.shape[0]
        let mels = conv1.shape[1]
        let encPos = try file.require("encoder/position_encodings/encodings")
        let decPos = try file.require("decoder/position_encodings/encodings")
        let embedding = try file.require("decoder/embeddings/weight")
        let ffn = try file.require("encoder/layer_0/ffn/linear_0/weight")
        for v in [encPos, decPos, embedding] where v.shape.count != 2 || v.shape[1] != d || v.shape[0] == 0 {
            throw WhisperModelError.shapeMismatch(path: path, tensor: v.name, expected: [v.shape.first ?? 0, d], actual: v.shape)
        }
        guard ffn.shape.count == 2, ffn.shape[1] == d, ffn.shape[0] > 0 else {
            throw WhisperModelError.shapeMismatch(path: path, tensor: ffn.name, expected: [ffn.shape.first ?? 0, d], actual: ffn.shape)
        }
        // The mel front end, the window length and the timestamp tokens are Whisper's fixed
        // geometry; a model built otherwise would reach the encoder with the wrong input.
        let geometry: [(Int, Int, String)] = [
            (mels, WhisperMel.melCount, "encoder/conv1/weight takes \(mels) mel bands (copilot computes \(WhisperMel.melCount))"),
            (encPos.shape[0], WhisperMel.windowFrames / 2, "\(encPos.name) has \(encPos.shape[0]) audio positions (Whisper's 30 s window has \(WhisperMel.windowFrames / 2))"),
            (decPos.shape[0], 448, "\(decPos.name) has \(decPos.shape[0]) text positions (Whisper has 448)"),
        ]
        for (actual, expected, reason) in geometry where actual != expected {
            throw WhisperModelError.unsupportedArchitecture(path: path, reason: reason)
        }
        func layerCount(_ prefix: String) -> Int {
            var n = 0
            while file.variable("\(prefix)/layer_\(n)/ffn/linear_0/weight") != nil { n += 1 }
            return n
        }
        let encoderHeads = try file.integer("encoder/num_heads", default: max(1, d / 64))
        let decoderHeads = try file.integer("decoder/num_heads", default: encoderHeads)
        guard encoderHeads > 0, d % encoderHeads == 0, decoderHeads == encoderHeads else {
            throw WhisperModelError.unsupportedArchitecture(
                path: path, reason: "\(encoderHeads) encoder and \(decoderHeads) decoder heads for width \(d)")
        }
        // Architectural switches CTranslate2 stores as scalars: only Whisper's own values work.
        let switches: [(String, Int, String)] = [
            ("decoder/activation", 3, "activation other than exact GELU"),
            ("decoder/pre_norm", 1, "post-norm decoder blocks"),
            ("decoder/alibi", 0, "ALiBi positions"),
            ("decoder/scale_embeddings", 0, "scaled embeddings"),
        ]
        for (name, expected, what) in switches {
            let value = try file.integer(name, default: expected)
            guard value == expected else { throw WhisperModelError.unsupportedArchitecture(path: path, reason: "\(what) (\(name) = \(value))") }
        }
        let dims = WhisperDimensions(
            melCount: mels, audioContext: encPos.shape[0], width: d, headCount: encoderHeads,
            encoderLayerCount: layerCount("encoder"), decoderLayerCount: layerCount("decoder"),
            ffnWidth: ffn.shape[0], vocabularySize: embedding.shape[0], textContext: decPos.shape[0])
        guard dims.encoderLayerCount > 0, dims.decoderLayerCount > 0 else {
            throw WhisperModelError.missingTensor(path: path, tensor: "decoder/layer_0/ffn/linear_0/weight")
        }
        return dims
    }

    /// Reads and validates every tensor of a CTranslate2 `WhisperSpec` file: the sizes as
    /// ``dimensions(of:)`` finds them, then every tensor must have exactly the implied shape.
    package static func load(from file: ModelFile) throws -> WhisperWeights {
        let path = file.path
        let dims = try dimensions(of: file)
        let d = dims.width, mels = dims.melCount
        let embedding = try file.require("decoder/embeddings/weight")

        // The embedding first: the largest tensor, converted while little else is in memory.
        // Debug builds (the test suite) keep float32 and OpenBLAS's gemv: unoptimized SIMD code
        // makes the float16 kernel ~100x slower there. Its exactness is tested on its own.
        #if DEBUG
        let keepHalves = false
        #else
        let keepHalves = true
        #endif
        let tokenEmbedding: WhisperEmbedding
        if embedding.dataType == .float16 && keepHalves {
            tokenEmbedding = WhisperEmbedding(
                halves: try file.halves(embedding.name, shape: [dims.vocabularySize, d]), vocabularySize: dims.vocabularySize, width: d)
        } else {
            tokenEmbedding = WhisperEmbedding(
                floats: try file.floats(embedding.name, shape: [dims.vocabularySize, d]), vocabularySize: dims.vocabularySize, width: d)
        }
        func vector(_ name: String, _ n: Int) throws -> [Float] { try file.floats(name, shape: [n]) }
        func linear(_ name: String, out: Int, in inCount: Int, bias: Bool = true) throws -> WhisperLinear {
            WhisperLinear(
                weight: try file.floats(name + "/weight", shape: [out, inCount]),
                bias: bias ? try vector(name + "/bias", out) : nil, outCount: out, inCount: inCount)
        }
        func norm(_ name: String) throws -> WhisperLayerNorm {
            WhisperLayerNorm(gamma: try vector(name + "/gamma", d), beta: try vector(name + "/beta", d))
        }
        let f = dims.ffnWidth
        var encoderLayers: [WhisperEncoderLayer] = []
        for i in 0..<dims.encoderLayerCount {
            let p = "encoder/layer_\(i)"
            encoderLayers.append(
                WhisperEncoderLayer(
                    attentionNorm: try norm(p + "/self_attention/layer_norm"),
                    qkv: try linear(p + "/self_attention/linear_0", out: 3 * d, in: d),
                    attentionOut: try linear(p + "/self_attention/linear_1", out: d, in: d),
                    ffnNorm: try norm(p + "/ffn/layer_norm"),
                    ffnIn: try linear(p + "/ffn/linear_0", out: f, in: d),
                    ffnOut: try linear(p + "/ffn/linear_1", out: d, in: f)))
        }
        var decoderLayers: [WhisperDecoderLayer] = []
        for i in 0..<dims.decoderLayerCount {
            let p = "decoder/layer_\(i)"
            decoderLayers.append(
                WhisperDecoderLayer(
                    selfNorm: try norm(p + "/self_attention/layer_norm"),
                    selfQKV: try linear(p + "/self_attention/linear_0", out: 3 * d, in: d),
                    selfOut: try linear(p + "/self_attention/linear_1", out: d, in: d),
                    crossNorm: try norm(p + "/attention/layer_norm"),
                    crossQuery: try linear(p + "/attention/linear_0", out: d, in: d),
                    crossKV: try linear(p + "/attention/linear_1", out: 2 * d, in: d),
                    crossOut: try linear(p + "/attention/linear_2", out: d, in: d),
                    ffnNorm: try norm(p + "/ffn/layer_norm"),
                    ffnIn: try linear(p + "/ffn/linear_0", out: f, in: d),
                    ffnOut: try linear(p + "/ffn/linear_1", out: d, in: f)))
        }
        if let projection = file.variable("decoder/projection/weight"), projection.name != embedding.name {
            throw WhisperModelError.unsupportedArchitecture(path: path, reason: "an output projection not tied to the embeddings")
        }
        return WhisperWeights(
            dimensions: dims,
            conv1Weight: try file.floats("encoder/conv1/weight", shape: [d, mels, 3]),
            conv1Bias: try vector("encoder/conv1/bias", d),
            conv2Weight: try file.floats("encoder/conv2/weight", shape: [d, d, 3]),
            conv2Bias: try vector("encoder/conv2/bias", d),
            encoderPositions: try file.floats("encoder/position_encodings/encodings", shape: [dims.audioContext, d]),
            encoderLayers: encoderLayers,
            encoderNorm: try norm("encoder/layer_norm"),
            tokenEmbedding: tokenEmbedding,
            decoderPositions: try file.floats("decoder/position_encodings/encodings", shape: [dims.textContext, d]),
            decoderLayers: decoderLayers,
            decoderNorm: try norm("decoder/layer_norm"))
    }
}
