import CopilotCore
import CopilotReference
import Testing

/// The optimized encoder and decoder against CopilotReference's plain loops, on a small random
/// model of Whisper's architecture (d 64, 2 heads, 1 + 1 layers, 200 mel frames): the real
/// model's 1500 x 384 encoder in plain loops takes minutes in a debug build (its release-mode
/// check is the `whisper/encoder` bench case).
@Suite struct WhisperDifferentialTests {
    @Test(arguments: [1, 2])
    func encoderMatchesReference(threads: Int) {
        let weights = RandomWhisper.weights()
        let mel = RandomWhisper.mel(weights.dimensions.melCount * weights.dimensions.melFrames)
        let optimized = WhisperEncoder(weights: weights, threads: threads).encode(mel: mel)
        let reference = ReferenceWhisperEncoder(weights: weights).encode(mel: mel)
        let error = RandomWhisper.relativeError(optimized, reference)
        #expect(error < 1e-3, "relative error \(error)")
        #expect(optimized.count == 100 * 64)
    }

    @Test func twoLayerEncoderMatchesReference() {
        let weights = RandomWhisper.weights(width: 48, heads: 3, encoderLayers: 2, decoderLayers: 2, audioContext: 37, seed: 11)
        let mel = RandomWhisper.mel(weights.dimensions.melCount * weights.dimensions.melFrames, seed: 5)
        let optimized = WhisperEncoder(weights: weights, threads: 2).encode(mel: mel)
        let reference = ReferenceWhisperEncoder(weights: weights).encode(mel: mel)
        #expect(RandomWhisper.relativeError(optimized, reference) < 1e-3)
    }

    @Test func decoderStepsMatchReference() {
        let weights = RandomWhisper.weights(encoderLayers: 1, decoderLayers: 2)
        let dims = weights.dimensions
        let encoderOutput = RandomWhisper.mel(dims.audioContext * dims.width, seed: 9)
        let fast = WhisperDecoder(weights: weights, threads: 2), slow = ReferenceWhisperDecoder(weights: weights)
        let fastCross = fast.crossCache(encoderOutput: encoderOutput)
        let slowCross = slow.crossCache(encoderOutput: encoderOutput)
        let fastCache = WhisperKVCache(dimensions: dims), slowCache = WhisperKVCache(dimensions: dims)
        var a: [Float] = [], b: [Float] = []
        // A prompt of several tokens at once, then single steps, then two at once.
        let feeds: [[Int]] = [[3, 17, 250], [42], [7], [0, 299], [120]]
        for feed in feeds {
            fast.decode(tokens: feed[...], cache: fastCache, cross: fastCross, logits: &a)
            slow.decode(tokens: feed[...], cache: slowCache, cross: slowCross, logits: &b)
            #expect(a.count == dims.vocabularySize)
            #expect(RandomWhisper.relativeError(a, b) < 1e-3)
        }
        #expect(fastCache.count == 8 && slowCache.count == 8)
        // Feeding the same tokens one by one gives the logits of feeding them together.
        let stepCache = WhisperKVCache(dimensions: dims)
        var c: [Float] = []
        for token in feeds.joined() { fast.decode(tokens: [token][...], cache: stepCache, cross: fastCross, logits: &c) }
        #expect(RandomWhisper.relativeError(c, a) < 1e-4)
    }
}

extension WhisperDifferentialTests {
    /// A prompt longer than the optimized decoder's row block goes through in chunks.
    @Test func longPromptInChunksMatchesReference() {
        let weights = RandomWhisper.weights(width: 32, heads: 2, audioContext: 20, textContext: 160, seed: 21)
        let dims = weights.dimensions
        let encoded = RandomWhisper.mel(dims.audioContext * dims.width, seed: 2)
        let fast = WhisperDecoder(weights: weights, threads: 2), slow = ReferenceWhisperDecoder(weights: weights)
        let fastCache = WhisperKVCache(dimensions: dims), slowCache = WhisperKVCache(dimensions: dims)
        let prompt = (0..<150).map { ($0 * 37) % dims.vocabularySize }
        var a: [Float] = [], b: [Float] = []
        fast.decode(tokens: prompt[...], cache: fastCache, cross: fast.crossCache(encoderOutput: encoded), logits: &a)
        slow.decode(tokens: prompt[...], cache: slowCache, cross: slow.crossCache(encoderOutput: encoded), logits: &b)
        #expect(fastCache.count == 150)
        #expect(RandomWhisper.relativeError(a, b) < 1e-3)
    }
}

extension WhisperDifferentialTests {
    /// A window shorter than 30 s (what live partials encode): the optimized encoder and the
    /// cross-attention over fewer positions agree with the reference at every even length.
    @Test(arguments: [2, 20, 64, 198])
    func shortWindowEncoderAndCrossAttentionMatchReference(frames: Int) {
        let weights = RandomWhisper.weights(encoderLayers: 1, decoderLayers: 1, seed: 31)
        let dims = weights.dimensions
        let mel = RandomWhisper.mel(dims.melCount * frames, seed: UInt64(frames))
        let optimized = WhisperEncoder(weights: weights, threads: 2).encode(mel: mel, frameCount: frames)
        let reference = ReferenceWhisperEncoder(weights: weights).encode(mel: mel, frameCount: frames)
        #expect(optimized.count == frames / 2 * dims.width)
        #expect(RandomWhisper.relativeError(optimized, reference) < 1e-3)
        let fast = WhisperDecoder(weights: weights, threads: 2), slow = ReferenceWhisperDecoder(weights: weights)
        var a: [Float] = [], b: [Float] = []
        fast.decode(tokens: [5, 9][...], cache: WhisperKVCache(dimensions: dims), cross: fast.crossCache(encoderOutput: optimized), logits: &a)
        slow.decode(tokens: [5, 9][...], cache: WhisperKVCache(dimensions: dims), cross: slow.crossCache(encoderOutput: reference), logits: &b)
        #expect(RandomWhisper.relativeError(a, b) < 1e-3)
    }

    /// The length a `content` window encodes: whole seconds plus one, at least two, at most 30.
    @Test func contentEncodingFollowsTheLength() {
        #expect(WindowEncoding.content.encodedFrames(contentFrames: 0, windowFrames: 3000) == 200)
        #expect(WindowEncoding.content.encodedFrames(contentFrames: 150, windowFrames: 3000) == 300)
        #expect(WindowEncoding.content.encodedFrames(contentFrames: 2901, windowFrames: 3000) == 3000)
        #expect(WindowEncoding.padded.encodedFrames(contentFrames: 150, windowFrames: 3000) == 3000)
    }
}
