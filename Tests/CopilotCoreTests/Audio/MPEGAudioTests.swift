@testable import CopilotCore
import Foundation
import Testing

/// MP3 decoded by libmpg123 directly (``MPG123``): the same samples libsndfile produced, an
/// MP3 without ID3 tag recognised on stdin by its frame headers, damage reported, never a crash.
@Suite struct MPEGAudioTests {
    /// An MP3 of `seconds` of a sine written through libsndfile and LAME.
    private func mp3(_ dir: URL, rate: Int, channels: Int, seconds: Double = 1, name: String = "t.mp3") throws -> String {
        let signal = AudioFixtures.sine(frequency: 440, rate: rate, frames: Int(seconds * Double(rate)), channels: channels)
        return try AudioFixtures.write(signal, to: dir, name: name, format: .mp3, rate: rate, channels: channels)
    }

    private func decodeAll(_ source: AudioFrameSource) throws -> [Float] {
        var all: [Float] = []
        var block = [Float](repeating: 0, count: 4096 * source.channels)
        while true {
            let frames = try block.withUnsafeMutableBufferPointer { try source.readFrames(into: $0) }
            if frames == 0 { return all }
            all.append(contentsOf: block[0..<(frames * source.channels)])
        }
    }

    /// The bytes of `path` with a leading ID3v2 tag cut off.
    static func withoutID3(_ path: String) throws -> [UInt8] {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        return Array(bytes.dropFirst(AudioFileDecoder.id3TagBytes(Array(bytes.prefix(10)))))
    }

    @Test func frameHeadersParseWithTheirFrameLength() throws {
        // MPEG-1 Layer III, 128 kbit/s, 44.1 kHz, joint stereo: 417 bytes (418 padded).
        let h = try #require(MPEGAudioFrameHeader([0xFF, 0xFB, 0x90, 0x64]))
        #expect(h.version == 1 && h.layer == 3 && h.bitrate == 128_000 && h.sampleRate == 44_100 && !h.isPadded && h.channels == 2)
        #expect(h.frameBytes == 417)
        #expect(MPEGAudioFrameHeader([0xFF, 0xFB, 0x92, 0x64])?.frameBytes == 418)
        // MPEG-2 Layer III, 64 kbit/s, 16 kHz, mono: 72 * 64000 / 16000 = 288 bytes.
        let m = try #require(MPEGAudioFrameHeader([0xFF, 0xF3, 0x88, 0xC4]))
        #expect(m.version == 2 && m.sampleRate == 16_000 && m.channels == 1 && m.frameBytes == 288)
        // MPEG-2.5 Layer III at 8 kHz; MPEG-1 Layer I and II.
        #expect(MPEGAudioFrameHeader([0xFF, 0xE3, 0x18, 0xC4])?.sampleRate == 8_000)
        #expect(MPEGAudioFrameHeader([0xFF, 0xFF, 0x90, 0x00])?.frameBytes == (12 * 288_000 / 44_100) * 4)
        #expect(MPEGAudioFrameHeader([0xFF, 0xFD, 0x90, 0x00])?.frameBytes == 144 * 160_000 / 44_100)
        // Refused: no sync, reserved version, reserved layer, free format, bad bitrate,
        // reserved sample rate, reserved emphasis, too short.
        for bad: [UInt8] in [
            [0xFE, 0xFB, 0x90, 0x64], [0xFF, 0xEB, 0x90, 0x64], [0xFF, 0xF9, 0x90, 0x64], [0xFF, 0xFB, 0x00, 0x64],
            [0xFF, 0xFB, 0xF0, 0x64], [0xFF, 0xFB, 0x9C, 0x64], [0xFF, 0xFB, 0x90, 0x66], [0xFF, 0xFB, 0x90],
        ] {
            #expect(MPEGAudioFrameHeader(bad) == nil, "\(bad)")
        }
    }

    @Test func decodesExactlyWhatLibsndfileDecoded() throws {
        let dir = try AudioFixtures.directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        for (rate, channels) in [(44_100, 2), (16_000, 1), (48_000, 1), (22_050, 2), (8_000, 1)] {
            let path = try mp3(dir, rate: rate, channels: channels, name: "\(rate)-\(channels).mp3")
            // libsndfile's own MP3 path (its libmpg123 handle, same flags): the old decoder.
            let before = try SndFile.open(path: path)
            let after = try MPG123.open(path: path)
            #expect(after.sampleRate == before.sampleRate && after.channels == before.channels, "\(rate) Hz")
            #expect(after.expectedFrames == before.expectedFrames, "\(rate) Hz")
            let old = try decodeAll(before), new = try decodeAll(after)
            #expect(new.count == old.count && new.count >= rate / 2 * channels, "\(rate) Hz: \(new.count) vs \(old.count)")
            #expect(new == old, "\(rate) Hz: max difference \(zip(new, old).map { abs($0 - $1) }.max() ?? 0)")
            // From memory (stdin), without its ID3 tag, and through the stream (downmix, resample).
            let memory = try decodeAll(MPG123.open(bytes: try Self.withoutID3(path), name: "stdin"))
            #expect(memory == old, "\(rate) Hz from memory")
            let stream = try AudioStream.open(AudioInputRequest(source: .file(path: path), targetRate: 16_000)).readAll()
            let reference = try AudioStream(source: SndFile.open(path: path), targetRate: 16_000).readAll()
            #expect(stream == reference, "\(rate) Hz resampled")
        }
    }

    @Test func theDecoderIsChosenByContent() throws {
        let dir = try AudioFixtures.directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = try mp3(dir, rate: 16_000, channels: 1)
        #expect(try AudioFileDecoder.open(path: path) is MPG123)
        let bare = try Self.withoutID3(path)
        #expect(MPEGAudioFrameHeader(bare) != nil)
        #expect(try AudioFileDecoder.open(bytes: bare, name: "stdin") is MPG123)
        #expect(AudioStream.looksEncoded(bare) && MPEGAudioFrameHeader.startsStream(bare))
        // An MP3 named .wav is still MPEG; a WAV named .mp3 is still a WAV.
        let renamed = dir.appendingPathComponent("really-mp3.wav").path
        try FileManager.default.copyItem(atPath: path, toPath: renamed)
        #expect(try AudioFileDecoder.open(path: renamed) is MPG123)
        let wav = try AudioFixtures.write([0, 0.5, -0.5, 0], to: dir, name: "really-wav.mp3", format: .wav, rate: 8_000, channels: 1)
        #expect(try AudioFileDecoder.open(path: wav) is SndFile)
    }

    @Test func rawPCMIsNotTakenForMPEG() throws {
        // A lone valid header is not enough on stdin: the next frame must start with one too.
        var fake: [UInt8] = [0xFF, 0xFB, 0x90, 0x64] + Array(repeating: 0, count: 500)
        #expect(!MPEGAudioFrameHeader.startsStream(fake))
        fake.replaceSubrange(417..<421, with: [0xFF, 0xFB, 0x90, 0x64])
        #expect(MPEGAudioFrameHeader.startsStream(fake))
        #expect(MPEGAudioFrameHeader.bytesNeeded(toRecognise: Array(fake.prefix(12))) == 421)
        #expect(MPEGAudioFrameHeader.bytesNeeded(toRecognise: [0, 1, 2, 3]) == 4)
        // Quiet noise as s16le (small negative samples start with 0xFF 0xFx): never two headers.
        var generator = SplitMix64(seed: 11)
        for _ in 0..<2_000 {
            var pcm: [UInt8] = []
            for _ in 0..<1_500 {
                let sample = Int16(truncatingIfNeeded: Int(generator.next() % 4_001) - 2_000)
                withUnsafeBytes(of: sample.littleEndian) { pcm += $0 }
            }
            #expect(!MPEGAudioFrameHeader.startsStream(pcm))
        }
    }

    @Test func damagedMP3DecodesOrFailsWithTheInputsName() throws {
        let dir = try AudioFixtures.directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let original = try Self.withoutID3(try mp3(dir, rate: 16_000, channels: 2, seconds: 0.5))
        var generator = SplitMix64(seed: 3)
        for round in 0..<60 {
            var bytes = original
            if round % 3 == 0 {
                bytes.removeLast(Int(generator.next() % UInt64(bytes.count - 4)))
            } else {
                for _ in 0..<(1 + Int(generator.next() % 60)) {
                    bytes[4 + Int(generator.next() % UInt64(bytes.count - 4))] = UInt8(truncatingIfNeeded: generator.next())
                }
            }
            do {
                let samples = try AudioStream(source: AudioFileDecoder.open(bytes: bytes, name: "damaged.mp3"), targetRate: 8_000).readAll()
                #expect(samples.allSatisfy { $0.isFinite && abs($0) <= 1 })
            } catch let error as AudioError {
                #expect(error.errorDescription?.contains("damaged.mp3") == true, "\(error)")
            }
        }
    }

    @Test func aFailedOpenReleasesItsFile() throws {
        let dir = try AudioFixtures.directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        // A valid first header and then nothing: libmpg123 opens the file, then finds no frame.
        let path = dir.appendingPathComponent("one-header.mp3").path
        try Data([0xFF, 0xFB, 0x90, 0x64] + Array(repeating: 0, count: 100)).write(to: URL(fileURLWithPath: path))
        func openDescriptors() throws -> Int { try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count }
        let before = try openDescriptors()
        for _ in 0..<300 {
            #expect {
                try AudioFileDecoder.open(path: path)
            } throws: { error in
                (error as? AudioError)?.errorDescription?.hasPrefix("cannot decode \(path): ") == true
            }
        }
        // Other tests open files meanwhile; a leak would add 300.
        #expect(try openDescriptors() < before + 100)
    }
}
