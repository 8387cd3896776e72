@testable import CopilotCore
import CopilotReference
import Foundation
import Testing

@Suite struct AudioFileTests {
    @Test(arguments: [
        (AudioFileFormat.wav, AudioFileEncoding.pcm16, Float(1.0 / 32768)),
        (.wav, .pcm24, 1.0 / 8_388_608),
        (.wav, .float32, 0),
        (.flac, .pcm16, 1.0 / 32768),
        (.flac, .pcm24, 1.0 / 8_388_608),
    ])
    func losslessRoundTrip(format: AudioFileFormat, encoding: AudioFileEncoding, tolerance: Float) throws {
        let dir = try AudioFixtures.directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let signal = AudioFixtures.sine(frequency: 440, rate: 16_000, frames: 4_000)
        let path = try AudioFixtures.write(signal, to: dir, name: "x.\(format.rawValue)", format: format, rate: 16_000,
                                           channels: 1, encoding: encoding)
        let stream = try AudioStream.open(AudioInputRequest(source: .file(path: path)))
        #expect(stream.sampleRate == 16_000)
        let back = try stream.readAll()
        #expect(back.count == signal.count)
        let maxError = zip(signal, back).map { abs($0 - $1) }.max() ?? 1
        #expect(maxError <= tolerance)
    }

    @Test(arguments: [AudioFileFormat.ogg, .opus, .mp3])
    func lossyFormatsDecodeByContent(format: AudioFileFormat) throws {
        let dir = try AudioFixtures.directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let signal = AudioFixtures.sine(frequency: 500, rate: 16_000, frames: 16_000)
        // A misleading extension: detection goes by content.
        let path = try AudioFixtures.write(signal, to: dir, name: "x.\(format.rawValue)", format: format, rate: 16_000, channels: 1)
        let renamed = dir.appendingPathComponent("audio.bin").path
        try FileManager.default.moveItem(atPath: path, toPath: renamed)
        let back = try AudioStream.open(AudioInputRequest(source: .file(path: renamed))).readAll()
        #expect(abs(back.count - signal.count) <= 1_200)
        #expect(abs(AudioFixtures.dominantFrequency(back, rate: 16_000) - 500) < 10)
    }

    @Test func stereoIsDownmixedToTheMean() throws {
        let dir = try AudioFixtures.directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let stereo: [Float] = [0.5, -0.5, 0.25, 0.25, 1, 0, -1, -0.5]
        let path = try AudioFixtures.write(stereo, to: dir, name: "s.wav", format: .wav, rate: 8_000, channels: 2, encoding: .float32)
        let stream = try AudioStream.open(AudioInputRequest(source: .file(path: path)))
        #expect(stream.sourceChannels == 2)
        #expect(try stream.readAll() == [0, 0.25, 0.5, -0.75])
    }

    @Test func floatFilesAreCleanedNotCrashed() throws {
        let dir = try AudioFixtures.directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let wild: [Float] = [.nan, .infinity, -.infinity, 3, -2, 0.5]
        let path = dir.appendingPathComponent("f.wav").path
        // AudioFileWriter cleans samples on the way out, so write the raw floats through SndFile.
        let raw = try SndFile.create(path: path, format: .wav, encoding: .float32, sampleRate: 8_000, channels: 1)
        try wild.withUnsafeBufferPointer { try raw.write(interleaved: $0) }
        try raw.close()
        #expect(try AudioStream.open(AudioInputRequest(source: .file(path: path))).readAll() == [0, 1, -1, 1, -1, 0.5])
    }

    @Test func writerIsAtomic() throws {
        let dir = try AudioFixtures.directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("out.flac").path
        do {
            let writer = try AudioFileWriter(path: path, format: .flac, sampleRate: 16_000)
            try writer.write([0.1, 0.2, 0.3])
            #expect(!FileManager.default.fileExists(atPath: path))
            // Dropped without finish(): nothing at the final path, no temporary left behind.
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
        let writer = try AudioFileWriter(path: path, format: .flac, sampleRate: 16_000)
        try writer.write([0.1, 0.2, 0.3])
        try writer.finish()
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["out.flac"])
        #expect(throws: AudioError.self) { try writer.write([0.1]) }
    }

    @Test func writerRefusesMissingDirectoryAndBadRate() {
        #expect(throws: AudioError.self) {
            try AudioFileWriter(path: "/nonexistent-dir/x.wav", format: .wav, sampleRate: 16_000)
        }
        #expect(throws: AudioError.self) { try AudioFileWriter(path: "/tmp/x.wav", format: .wav, sampleRate: 0) }
        #expect(throws: AudioError.self) {
            try AudioFileWriter(path: "/tmp/x.flac", format: .flac, sampleRate: 16_000, encoding: .float32)
        }
    }

    @Test func badFilesGiveNamedErrors() throws {
        let dir = try AudioFixtures.directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let signal = AudioFixtures.sine(frequency: 440, rate: 44_100, frames: 44_100, channels: 2)
        let wav = try AudioFixtures.write(signal, to: dir, name: "a.wav", format: .wav, rate: 44_100, channels: 2)
        let flac = try AudioFixtures.write(signal, to: dir, name: "a.flac", format: .flac, rate: 44_100, channels: 2)
        func cut(_ path: String, keep: Int, name: String) throws -> String {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            let out = dir.appendingPathComponent(name).path
            try data.prefix(keep).write(to: URL(fileURLWithPath: out))
            return out
        }
        func corrupt(_ path: String, name: String) throws -> String {
            var data = try Data(contentsOf: URL(fileURLWithPath: path))
            for i in stride(from: 200, to: data.count, by: 7) { data[i] = UInt8(truncatingIfNeeded: i &* 31) }
            let out = dir.appendingPathComponent(name).path
            try data.write(to: URL(fileURLWithPath: out))
            return out
        }
        let text = dir.appendingPathComponent("notes.txt").path
        try "just some text, not audio\n".write(toFile: text, atomically: true, encoding: .utf8)
        let cases = [
            try cut(wav, keep: 20_000, name: "trunc.wav"),
            try cut(flac, keep: 20_000, name: "trunc.flac"),
            try corrupt(flac, name: "corrupt.flac"),
            try cut(wav, keep: 30, name: "header.wav"),
            text,
            dir.appendingPathComponent("missing.wav").path,
            dir.path,
        ]
        for path in cases {
            #expect {
                _ = try AudioStream.open(AudioInputRequest(source: .file(path: path))).readAll()
            } throws: { error in
                let message = (error as? AudioError)?.errorDescription ?? ""
                return message.contains(path) && !message.contains("\n")
            }
        }
    }

    @Test func referenceDecoderAgreesWithoutResampling() throws {
        let dir = try AudioFixtures.directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let signal = AudioFixtures.sine(frequency: 300, rate: 22_050, frames: 9_999, channels: 2)
        let path = try AudioFixtures.write(signal, to: dir, name: "r.flac", format: .flac, rate: 22_050, channels: 2)
        let optimized = try AudioStream.open(AudioInputRequest(source: .file(path: path))).readAll()
        let reference = try ReferenceAudioDecoder.decode(path: path, targetRate: nil)
        #expect(reference.sampleRate == 22_050)
        #expect(optimized == reference.samples)
    }

    @Test func referenceDecoderAgreesWithinInterpolationError() throws {
        let dir = try AudioFixtures.directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let signal = AudioFixtures.sine(frequency: 200, rate: 44_100, frames: 44_100, channels: 2)
        let path = try AudioFixtures.write(signal, to: dir, name: "r.flac", format: .flac, rate: 44_100, channels: 2)
        let optimized = try AudioStream.open(AudioInputRequest(source: .file(path: path), targetRate: 16_000)).readAll()
        let reference = try ReferenceAudioDecoder.decode(path: path, targetRate: 16_000).samples
        #expect(optimized.count == reference.count)
        // A 200 Hz tone is far below both filters' cut-off: sinc and linear agree closely away
        // from the edges (the sinc's tail is completed with silence).
        let inner = 200..<(optimized.count - 200)
        let maxError = inner.map { abs(optimized[$0] - reference[$0]) }.max() ?? 1
        #expect(maxError < 0.01)
    }

    @Test(arguments: [AudioFileFormat.wav, .flac, .ogg, .mp3])
    func damagedFilesNeverCrash(format: AudioFileFormat) throws {
        let dir = try AudioFixtures.directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let signal = AudioFixtures.sine(frequency: 440, rate: 16_000, frames: 8_000, channels: 2)
        let path = try AudioFixtures.write(signal, to: dir, name: "f.\(format.rawValue)", format: format, rate: 16_000, channels: 2)
        let original = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        var generator = SplitMix64(seed: 7)
        for round in 0..<40 {
            var bytes = original
            if round % 2 == 0 {
                bytes.removeLast(Int(generator.next() % UInt64(bytes.count)))
            } else {
                for _ in 0..<(1 + Int(generator.next() % 40)) {
                    bytes[Int(generator.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: generator.next())
                }
            }
            // Decoded audio or an AudioError; anything else (or a crash) fails the test.
            do {
                let samples = try AudioStream(source: AudioFileDecoder.open(bytes: bytes, name: "damaged"), targetRate: 8_000).readAll()
                #expect(samples.allSatisfy { $0.isFinite && abs($0) <= 1 })
            } catch let error as AudioError {
                #expect(error.errorDescription?.contains("damaged") == true)
            }
        }
    }
}
