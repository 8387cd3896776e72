import CopilotCore
import CopilotReference
import Foundation
import Testing

@Suite struct LogMelSpectrogramTests {
    let fast = LogMelSpectrogram()
    let reference = ReferenceLogMelSpectrogram()

    @Test(arguments: [0, 1, 159, 160, 161, 399, 400, 401, 1000, 4321, 16000])
    func matchesReferenceOnNoise(sampleCount: Int) {
        let samples = MelTestSignals.noise(count: sampleCount, seed: UInt64(sampleCount) + 7)
        let a = fast.logMelSpectrogram(samples)
        let b = reference.logMelSpectrogram(samples)
        #expect(a.frameCount == WhisperMel.frameCount(sampleCount: sampleCount))
        #expect(a.frameCount == b.frameCount && a.melCount == 80 && b.melCount == 80)
        #expect(maxAbsDifference(a.values, b.values) <= 1e-4)
    }

    @Test func matchesReferenceOnSpeechLikeMixture() {
        // Tones at very different levels exercise the dynamic-range clamp.
        let count = 12_345
        let low = MelTestSignals.tone(hertz: 180, count: count, amplitude: 0.6)
        let mid = MelTestSignals.tone(hertz: 2_345, count: count, amplitude: 0.01)
        let hiss = MelTestSignals.noise(count: count, seed: 3, amplitude: 0.001)
        let samples = (0..<count).map { low[$0] + mid[$0] + hiss[$0] }
        let a = fast.logMelSpectrogram(samples)
        let b = reference.logMelSpectrogram(samples)
        #expect(maxAbsDifference(a.values, b.values) <= 1e-4)
    }

    @Test func emptySignalIsOneSilentFrame() {
        let features = fast.logMelSpectrogram([Float]())
        #expect(features.frameCount == 1)
        // log10(1e-10) = -10 everywhere, so (-10 + 4) / 4.
        #expect(features.values.allSatisfy { abs($0 + 1.5) < 1e-5 })
        #expect(reference.logMelSpectrogram([Float]()) .values.allSatisfy { abs($0 + 1.5) < 1e-5 })
    }

    @Test func silenceIsFlat() {
        let features = fast.logMelSpectrogram([Float](repeating: 0, count: 16000))
        #expect(features.frameCount == 101)
        #expect(features.values.allSatisfy { abs($0 + 1.5) < 1e-5 })
    }

    @Test func thirtySecondsAgreesWithReferenceOnAnInteriorSlice() {
        // The reference is too slow for 30 s in a debug build; on noise the clamp never bites,
        // so frames 1...98 of a 1 s slice starting at a hop boundary equal the full run's.
        let samples = MelTestSignals.noise(count: 30 * 16000, seed: 99)
        let full = fast.logMelSpectrogram(samples)
        #expect(full.frameCount == 3001)
        let startFrame = 1700
        let slice = Array(samples[(startFrame * 160)..<(startFrame * 160 + 16000)])
        let part = reference.logMelSpectrogram(slice)
        var worst: Float = 0
        for mel in 0..<80 {
            for frame in 2..<98 {
                worst = max(worst, abs(full[mel, startFrame + frame] - part[mel, frame]))
            }
        }
        #expect(worst <= 1e-4)
    }

    @Test func threadsDoNotChangeTheResult() {
        let samples = MelTestSignals.noise(count: 7 * 16000 + 37, seed: 5)
        let one = fast.logMelSpectrogram(samples)
        let two = LogMelSpectrogram(threadCount: 2).logMelSpectrogram(samples)
        #expect(one == two)
    }

    @Test(arguments: [(300.0, 7), (1000.0, 26), (4000.0, 62)])
    func pureToneLandsInItsBand(hertz: Double, band: Int) {
        // Bands from the Slaney scale: 1 kHz sits at mel 15, closest to band 26's centre.
        let features = fast.logMelSpectrogram(MelTestSignals.tone(hertz: hertz, count: 16000))
        let loudest = (0..<80).max { features[$0, 50] < features[$1, 50] }
        #expect(loudest == band)
    }

    @Test func nonFiniteSamplesAreClipped() {
        var samples = MelTestSignals.noise(count: 4000, seed: 11)
        samples[10] = .nan
        samples[20] = .infinity
        samples[30] = -.infinity
        let features = fast.logMelSpectrogram(samples)
        #expect(features.values.allSatisfy { $0.isFinite })
        var clipped = samples
        clipped[10] = 0
        clipped[20] = 1
        clipped[30] = -1
        #expect(features == fast.logMelSpectrogram(clipped))
        #expect(maxAbsDifference(reference.logMelSpectrogram(samples).values, features.values) <= 1e-4)
    }

    @Test func windowPadsWithZerosAndSlices() {
        let features = fast.logMelSpectrogram(MelTestSignals.noise(count: 1600, seed: 1))
        #expect(features.frameCount == 11)
        let window = features.window(startFrame: 4, frameCount: 10)
        #expect(window.frameCount == 10 && window.melCount == 80)
        for mel in [0, 40, 79] {
            for frame in 0..<7 { #expect(window[mel, frame] == features[mel, frame + 4]) }
            for frame in 7..<10 { #expect(window[mel, frame] == 0) }
        }
        #expect(features.window(startFrame: 0).frameCount == 3000)
        #expect(features.window(startFrame: 50, frameCount: 5).values.allSatisfy { $0 == 0 })
        // Silence padding: the given value past the end, the content untouched.
        let silence = features.window(startFrame: 4, frameCount: 10, padding: -0.75)
        for mel in [0, 40, 79] {
            for frame in 0..<7 { #expect(silence[mel, frame] == features[mel, frame + 4]) }
            for frame in 7..<10 { #expect(silence[mel, frame] == -0.75) }
        }
    }

    /// Zero audio sits on the clamp floor, 2 below the largest feature: the value the live
    /// window pads with (`WindowEncoding.contentThenSilence`).
    @Test func silenceLiesTwoBelowTheLargestFeature() {
        let signal = MelTestSignals.noise(count: 1600, seed: 1) + [Float](repeating: 0, count: 3200)
        let features = fast.logMelSpectrogram(signal)
        let floor = (features.values.max() ?? 0) - 2
        for mel in [0, 40, 79] { #expect(abs(features[mel, features.frameCount - 5] - floor) < 1e-6) }
    }
}

@Suite struct MelSpectrogramEncodingTests {
    let features = MelSpectrogram(melCount: 2, frameCount: 3, values: [1, -1.5, 0, 2, 0.25, -0])

    @Test func rawIsLittleEndianFloat32MelMajor() {
        let bytes = features.encoded(as: .f32le)
        #expect(bytes.count == 24)
        #expect(Array(bytes[0..<4]) == [0x00, 0x00, 0x80, 0x3F])  // 1.0
        #expect(Array(bytes[4..<8]) == [0x00, 0x00, 0xC0, 0xBF])  // -1.5
    }

    @Test func npyHeaderDescribesShapeAndAlignsData() {
        let bytes = features.encoded(as: .npy)
        #expect(Array(bytes[0..<8]) == [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0])
        let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
        #expect((10 + headerLength) % 64 == 0)
        let header = String(decoding: bytes[10..<(10 + headerLength)], as: UTF8.self)
        #expect(header.hasPrefix("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"))
        #expect(header.hasSuffix("\n"))
        #expect(Array(bytes[(10 + headerLength)...]) == features.encoded(as: .f32le))
    }
}
