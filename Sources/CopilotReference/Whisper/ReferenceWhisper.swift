import CopilotCore
import Foundation

/// The plain float32 Whisper encoder: direct convolutions and attention written as loops over
/// the formulas, no BLAS, no threads. The oracle the optimized ``WhisperEncoder`` is checked
/// against, and the baseline of its benchmark.
package final class ReferenceWhisperEncoder: WhisperEncoding {
    /// The model weights.
    package let weights: WhisperWeights
    /// The model dimensions.
    package var dimensions: WhisperDimensions { weights.dimensions }

    /// An encoder over `weights`.
    package init(weights: WhisperWeights) {
        self.weights = weights
    }

    /// Encodes `mel` (`melCount x frames`) into the encoder output.
    package func encode(mel: [Float], frameCount frames: Int) -> [Float] {
        let dm = dimensions
        let d = dm.width, mels = dm.melCount, t = frames / 2
        // conv1: out[f][c] = b[c] + sum_{i,k} W[c][i][k] * mel[i][f + k - 1]
        var a = [Float](repeating: 0, count: frames * d)
        for f in 0..<frames {
            for c in 0..<d {
                var sum = weights.conv1Bias[c]
                for i in 0..<mels {
                    for k in 0..<3 {
                        let src = f + k - 1
                        if src >= 0 && src < frames {
                            sum += weights.conv1Weight[(c * mels + i) * 3 + k] * mel[i * frames + src]
                        }
                    }
                }
                a[f * d + c] = referenceGELU(sum)
            }
        }
        // conv2, stride 2: out[j][c] = b[c] + sum_{i,k} W[c][i][k] * a[2j + k - 1][i]
        var x = [Float](repeating: 0, count: t * d)
        for j in 0..<t {
            for c in 0..<d {
                var sum = weights.conv2Bias[c]
                for i in 0..<d {
                    for k in 0..<3 {
                        let src = 2 * j + k - 1
                        if src >= 0 && src < frames {
                            sum += weights.conv2Weight[(c * d + i) * 3 + k] * a[src * d + i]
                        }
                    }
                }
                x[j * d + c] = referenceGELU(sum) + weights.encoderPositions[j * d + c]
            }
        }
        for layer in weights.encoderLayers {
            let h = referenceLayerNorm(x, rows: t, layer.attentionNorm)
            let qkv = referenceLinear(h, rows: t, layer.qkv)
            let attention = referenceAttention(
                queries: qkv, queryStride: 3 * d, queryOffset: 0, rows: t,
                keys: qkv, values: qkv, kvStride: 3 * d, keyOffset: d, valueOffset: 2 * d,
                visible: { _ in t }, dimensions: dm)
            add(&x, referenceLinear(attention, rows: t, layer.attentionOut))
            let n = referenceLayerNorm(x, rows: t, layer.ffnNorm)
            let hidden = referenceLinear(n, rows: t, layer.ffnIn).map(referenceGELU)
            add(&x, referenceLinear(hidden, rows: t, layer.ffnOut))
        }
        return referenceLayerNorm(x, rows: t, weights.encoderNorm)
    }
}

/// The plain float32 decoder: the same step as ``WhisperDecoder`` written as loops.
package final class ReferenceWhisperDecoder: WhisperDecoding {
    /// The model weights.
    package let weights: WhisperWeights
    /// The model dimensions.
    package var dimensions: WhisperDimensions { weights.dimensions }

    /// A decoder over `weights`.
    package init(weights: WhisperWeights) {
        self.weights = weights
    }

    /// The cross-attention keys and values of one window's encoder output.
    package func crossCache(encoderOutput: [Float]) -> WhisperCrossCache {
        let dm = dimensions
        let d = dm.width, t = encoderOutput.count / d
        var keys: [[Float]] = [], values: [[Float]] = []
        for layer in weights.decoderLayers {
            let kv = referenceLinear(encoderOutput, rows: t, layer.crossKV)
            var k = [Float](repeating: 0, count: t * d), v = k
            for r in 0..<t {
                for c in 0..<d {
                    k[r * d + c] = kv[r * 2 * d + c]
                    v[r * d + c] = kv[r * 2 * d + d + c]
                }
            }
            keys.append(k)
            values.append(v)
        }
        return WhisperCrossCache(keys: keys, values: values)
    }

    /// Runs `tokens` through the decoder, appending to `cache`; writes the next-token logits.
    package func decode(tokens: ArraySlice<Int>, cache: WhisperKVCache, cross: WhisperCrossCache, logits: inout [Float]) {
        let d = dimensions.width, n = tokens.count
        let x = forward(tokens: tokens, cache: cache, cross: cross, onScores: nil)
        let last = referenceLayerNorm(Array(x[((n - 1) * d)...]), rows: 1, weights.decoderNorm)
        logits = referenceLogits(last)
    }

    /// The forced pass in plain loops: every position's logits, softmax over the text ids.
    package func forcedPass(tokens: [Int], cross: WhisperCrossCache, heads: [WhisperAlignmentHead], textVocabularyEnd: Int) -> WhisperForcedPass {
        let d = dimensions.width, n = tokens.count, frames = (cross.keys.first?.count ?? 0) / d
        var scores = [[Float]](repeating: [Float](repeating: 0, count: n * frames), count: heads.count)
        let x = forward(tokens: tokens[...], cache: WhisperKVCache(dimensions: dimensions), cross: cross) { layer, row, head, values in
            for (k, wanted) in heads.enumerated() where wanted.layer == layer && wanted.head == head {
                for j in 0..<frames { scores[k][row * frames + j] = values[j] }
            }
        }
        let normed = referenceLayerNorm(x, rows: n, weights.decoderNorm)
        var probabilities = [Float](repeating: 0, count: n)
        for i in 0..<(n - 1) where tokens[i + 1] < textVocabularyEnd {
            let logits = referenceLogits(Array(normed[(i * d)..<((i + 1) * d)]))
            let maximum = logits[..<textVocabularyEnd].max() ?? 0
            var total = 0.0
            for v in logits[..<textVocabularyEnd] { total += exp(Double(v - maximum)) }
            probabilities[i] = Float(exp(Double(logits[tokens[i + 1]] - maximum)) / total)
        }
        return WhisperForcedPass(scores: scores, frames: frames, nextTokenProbabilities: probabilities)
    }

    /// Logits of one normed hidden state against the tied embedding.
    private func referenceLogits(_ hidden: [Float]) -> [Float] {
        let d = dimensions.width
        return (0..<dimensions.vocabularySize).map { v in
            var sum: Float = 0
            for c in 0..<d { sum += weights.tokenEmbedding[v, c] * hidden[c] }
            return sum
        }
    }

    /// The layers over `tokens` (appended to `cache`): the hidden states before the final norm.
    /// `onScores(layer, row, head, scores)` sees each cross-attention score row before its softmax.
    private func forward(
        tokens: ArraySlice<Int>, cache: WhisperKVCache, cross: WhisperCrossCache,
        onScores: ((Int, Int, Int, [Float]) -> Void)?
    ) -> [Float] {
        let dm = dimensions
        let d = dm.width, n = tokens.count, start = cache.count
        cache.reserve(rows: start + n)
        cache.count = start + n  // each layer stores its rows of the new positions before reading them
        var x = [Float](repeating: 0, count: n * d)
        for (i, token) in tokens.enumerated() {
            for c in 0..<d {
                x[i * d + c] = weights.tokenEmbedding[token, c] + weights.decoderPositions[(start + i) * d + c]
            }
        }
        for (index, layer) in weights.decoderLayers.enumerated() {
            let h = referenceLayerNorm(x, rows: n, layer.selfNorm)
            let qkv = referenceLinear(h, rows: n, layer.selfQKV)
            for i in 0..<n {
                let key = Array(qkv[(i * 3 * d + d)..<(i * 3 * d + 2 * d)]), value = Array(qkv[(i * 3 * d + 2 * d)..<(i * 3 * d + 3 * d)])
                cache.store(layer: index, position: start + i, key: key, value: value)
            }
            let selfAttention = referenceAttention(
                queries: qkv, queryStride: 3 * d, queryOffset: 0, rows: n,
                keys: cache.keyRows(layer: index), values: cache.valueRows(layer: index), kvStride: d, keyOffset: 0, valueOffset: 0,
                visible: { start + $0 + 1 }, dimensions: dm)
            add(&x, referenceLinear(selfAttention, rows: n, layer.selfOut))
            let c = referenceLayerNorm(x, rows: n, layer.crossNorm)
            let q = referenceLinear(c, rows: n, layer.crossQuery)
            let crossAttention = referenceAttention(
                queries: q, queryStride: d, queryOffset: 0, rows: n,
                keys: cross.keys[index], values: cross.values[index], kvStride: d, keyOffset: 0, valueOffset: 0,
                visible: { _ in cross.keys[index].count / d }, dimensions: dm,
                onScores: onScores.map { report in { row, head, scores in report(index, start + row, head, scores) } })
            add(&x, referenceLinear(crossAttention, rows: n, layer.crossOut))
            let f = referenceLayerNorm(x, rows: n, layer.ffnNorm)
            let hidden = referenceLinear(f, rows: n, layer.ffnIn).map(referenceGELU)
            add(&x, referenceLinear(hidden, rows: n, layer.ffnOut))
        }
        return x
    }
}

/// 0.5 x (1 + erf(x / sqrt 2)).
func referenceGELU(_ x: Float) -> Float {
    Float(0.5 * Double(x) * (1 + erf(Double(x) / 2.0.squareRoot())))
}

func add(_ x: inout [Float], _ y: [Float]) {
    for i in x.indices { x[i] += y[i] }
}

func referenceLayerNorm(_ x: [Float], rows: Int, _ norm: WhisperLayerNorm) -> [Float] {
    let width = norm.gamma.count
    var out = x
    for r in 0..<rows {
        var mean: Float = 0
        for i in 0..<width { mean += x[r * width + i] }
        mean /= Float(width)
        var variance: Float = 0
        for i in 0..<width { variance += (x[r * width + i] - mean) * (x[r * width + i] - mean) }
        variance /= Float(width)
        for i in 0..<width {
            out[r * width + i] = (x[r * width + i] - mean) / (variance + 1e-5).squareRoot() * norm.gamma[i] + norm.beta[i]
        }
    }
    return out
}

func referenceLinear(_ x: [Float], rows: Int, _ layer: WhisperLinear) -> [Float] {
    var y = [Float](repeating: 0, count: rows * layer.outCount)
    for r in 0..<rows {
        for o in 0..<layer.outCount {
            var sum = layer.bias[o]
            for i in 0..<layer.inCount { sum += x[r * layer.inCount + i] * layer.weight[o * layer.inCount + i] }
            y[r * layer.outCount + o] = sum
        }
    }
    return y
}

/// Multi-head attention: row r of the queries attends to the first `visible(r)` key rows;
/// `onScores(row, head, scores)` sees each row's scaled scores before the softmax.
func referenceAttention(
    queries: [Float], queryStride: Int, queryOffset: Int, rows: Int,
    keys: [Float], values: [Float], kvStride: Int, keyOffset: Int, valueOffset: Int,
    visible: (Int) -> Int, dimensions dm: WhisperDimensions, onScores: ((Int, Int, [Float]) -> Void)? = nil
) -> [Float] {
    let d = dm.width, hw = dm.headWidth
    let scale = 1 / Float(hw).squareRoot()
    var out = [Float](repeating: 0, count: rows * d)
    for r in 0..<rows {
        let n = visible(r)
        for head in 0..<dm.headCount {
            var scores = [Float](repeating: 0, count: n)
            for j in 0..<n {
                var sum: Float = 0
                for c in 0..<hw {
                    sum += queries[r * queryStride + queryOffset + head * hw + c] * keys[j * kvStride + keyOffset + head * hw + c]
                }
                scores[j] = sum * scale
            }
            onScores?(r, head, scores)
            let maximum = scores.max() ?? 0
            var total: Float = 0
            for j in 0..<n {
                scores[j] = exp(scores[j] - maximum)
                total += scores[j]
            }
            for c in 0..<hw {
                var sum: Float = 0
                for j in 0..<n { sum += scores[j] / total * values[j * kvStride + valueOffset + head * hw + c] }
                out[r * d + head * hw + c] = sum
            }
        }
    }
    return out
}
