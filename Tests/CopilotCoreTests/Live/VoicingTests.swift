import CopilotCore
import Foundation
import Testing

/// The voicing strength tells one voice from several at once, with noise or without.
@Suite struct VoicingTests {
    typealias S = LiveSignals

    static func whiteNoise(_ samples: Int, rms: Double, seed: UInt64) -> [Float] {
        var random = SplitMix64(seed: seed)
        // Uniform noise of the same RMS (the sum of twelve uniforms is near enough Gaussian).
        return (0..<samples).map { _ in
            var sum = -6.0
            for _ in 0..<12 { sum += random.nextUnit() }
            return Float(sum * rms)
        }
    }

    @Test(arguments: [1, 2, 3] as [UInt64]) func oneVoiceIsStronglyVoiced(seed: UInt64) throws {
        let voice = S.voices(count: 1, samples: 32_000, seed: seed)
        let strength = try #require(Voicing.strength(of: voice))
        #expect(strength > 0.9, "\(strength)")
        #expect(Voicing.isOneVoice(voice, minimum: Voicing.defaultMinimumStrength))
    }

    @Test(arguments: [1, 2, 3] as [UInt64]) func sixVoicesAtOnceAreNot(seed: UInt64) throws {
        let babble = S.voices(count: 6, samples: 32_000, seed: seed)
        let strength = try #require(Voicing.strength(of: babble))
        #expect(strength < Voicing.defaultMinimumStrength, "\(strength)")
        #expect(!Voicing.isOneVoice(babble, minimum: Voicing.defaultMinimumStrength))
        #expect(Voicing.isOneVoice(babble, minimum: nil), "no check")
    }

    /// One voice under white noise 5 dB quieter, or under babble 10 dB quieter, is still one voice;
    /// white noise alone is not.
    @Test func oneVoiceUnderNoiseStaysOneVoice() throws {
        let voice = S.voices(count: 1, samples: 32_000, seed: 7)
        let noise = Self.whiteNoise(32_000, rms: 0.2 / 1.778, seed: 8)  // 5 dB
        let babble = S.voices(count: 6, samples: 32_000, seed: 9).map { $0 / 3.162 }  // 10 dB
        let noisy = try #require(Voicing.strength(of: zip(voice, noise).map { $0 + $1 }))
        let overBabble = try #require(Voicing.strength(of: zip(voice, babble).map { $0 + $1 }))
        #expect(noisy > 0.8, "\(noisy)")
        #expect(overBabble > 0.8, "\(overBabble)")
        let alone = try #require(Voicing.strength(of: Self.whiteNoise(32_000, rms: 0.2, seed: 10)))
        #expect(alone < 0.6, "\(alone)")
    }

    @Test func silenceAndTooShortCannotBeTold() {
        #expect(Voicing.strength(of: [Float](repeating: 0, count: 16_000)) == nil)
        #expect(Voicing.strength(of: S.voices(count: 6, samples: 400, seed: 1)) == nil, "shorter than a frame")
        #expect(Voicing.isOneVoice([Float](repeating: 0, count: 16_000), minimum: Voicing.defaultMinimumStrength))
    }

    /// espeak-ng's six-talker babble (Tests/Fixtures/make_babble.sh) is below the threshold;
    /// one espeak-ng talker, clean or under that babble 10 dB quieter, is far above it.
    @Test(.enabled(if: Self.babble != nil, "espeak-ng and sox could not synthesise the clips: apt-get install espeak-ng sox"))
    func espeakBabbleIsToldFromOneTalker() throws {
        let (babble, voice) = try #require(Self.babble)
        let mixed = try #require(Voicing.strength(of: babble))
        let one = try #require(Voicing.strength(of: voice))
        let length = min(babble.count, voice.count)
        let under = try #require(Voicing.strength(of: (0..<length).map { voice[$0] + babble[$0] / 3.162 }))
        #expect(mixed < Voicing.defaultMinimumStrength, "babble \(mixed)")
        #expect(one > 0.9, "one talker \(one)")
        #expect(under > 0.8, "one talker over babble 10 dB quieter \(under)")
    }

    /// The babble clip and one talker's sentences, made once per run.
    static let babble: (babble: [Float], voice: [Float])? = {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("copilot-babble-\(UUID()).wav").path
        let process = Process()
        process.executableURL = SpeechClip.repository.appendingPathComponent("Tests/Fixtures/make_babble.sh")
        process.arguments = [path]
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return nil }
        process.waitUntilExit()
        defer { try? FileManager.default.removeItem(atPath: path) }
        guard process.terminationStatus == 0, let babble = try? SpeechClip.samples(wav: path),
            let voicePath = try? SpeechClip.make(["Thanks for joining. Today we review the quarterly budget and the plans for spring."]),
            let voice = try? SpeechClip.samples(wav: voicePath)
        else { return nil }
        try? FileManager.default.removeItem(atPath: voicePath)
        return (babble, voice)
    }()
}
