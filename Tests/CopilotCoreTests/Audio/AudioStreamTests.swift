@testable import CopilotCore
import CopilotReference
import Foundation
import Testing

@Suite struct AudioStreamTests {
    /// Little-endian bytes of `values` in `format`.
    static func rawBytes(_ values: [Double], format: RawSampleFormat) -> [UInt8] {
        var bytes: [UInt8] = []
        for v in values {
            switch format {
            case .s16le: withUnsafeBytes(of: Int16(v).littleEndian) { bytes += $0 }
            case .s32le: withUnsafeBytes(of: Int32(v).littleEndian) { bytes += $0 }
            case .f32le: withUnsafeBytes(of: Float(v).bitPattern.littleEndian) { bytes += $0 }
            }
        }
        return bytes
    }

    static func rawFile(_ bytes: [UInt8]) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("copilot-raw-\(UUID()).raw").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    static let rawCases: [(RawSampleFormat, [Double], [Float])] = [
        (.s16le, [0, 16384, -32768, 32767], [0, 0.5, -1, 32767.0 / 32768]),
        (.s32le, [0, 1_073_741_824, -2_147_483_648], [0, 0.5, -1]),
        (.f32le, [0, 0.25, -0.75, 1], [0, 0.25, -0.75, 1]),
    ]

    @Test(arguments: rawCases)
    func rawFormatsDecode(format: RawSampleFormat, values: [Double], expected: [Float]) throws {
        let path = try Self.rawFile(Self.rawBytes(values, format: format))
        defer { unlink(path) }
        let layout = RawPCMLayout(format: format, sampleRate: 8_000, channels: 1)
        let stream = try AudioStream.open(AudioInputRequest(source: .file(path: path), raw: layout, forceRaw: true))
        #expect(stream.sampleRate == 8_000)
        #expect(try stream.readAll() == expected)
    }

    @Test func rawStereoIsDownmixed() throws {
        let path = try Self.rawFile(Self.rawBytes([16384, -16384, 8192, 8192], format: .s16le))
        defer { unlink(path) }
        let layout = RawPCMLayout(format: .s16le, sampleRate: 16_000, channels: 2)
        #expect(try AudioStream.open(AudioInputRequest(source: .file(path: path), raw: layout, forceRaw: true)).readAll() == [0, 0.25])
    }

    @Test func nonFiniteFloatsClip() throws {
        let path = try Self.rawFile(Self.rawBytes([.nan, .infinity, -.infinity, 7, -0.5], format: .f32le))
        defer { unlink(path) }
        let layout = RawPCMLayout(format: .f32le, sampleRate: 16_000, channels: 1)
        let samples = try AudioStream.open(AudioInputRequest(source: .file(path: path), raw: layout, forceRaw: true)).readAll()
        #expect(samples == [0, 1, -1, 1, -0.5])
        // Through the resampler too: every output finite and within full scale.
        let resampled = try AudioStream.open(
            AudioInputRequest(source: .file(path: path), raw: layout, forceRaw: true, targetRate: 8_000)).readAll()
        #expect(resampled.allSatisfy { $0.isFinite && abs($0) <= 1 })
    }

    @Test func resampledFullScaleStaysInRange() throws {
        // A full-scale square wave makes the sinc filter ring past ±1; the stream clips it.
        let square = (0..<4_410).map { Float(($0 / 50) % 2 == 0 ? 1 : -1) }
        let source = MemoryFrameSource(interleaved: square, sampleRate: 44_100, channels: 1)
        let out = try AudioStream(source: source, targetRate: 16_000).readAll()
        #expect(out.allSatisfy { abs($0) <= 1 })
        #expect(out.contains(1) && out.contains(-1))
    }

    @Test func rawErrors() throws {
        let odd = try Self.rawFile([1, 2, 3])
        let empty = try Self.rawFile([])
        defer { unlink(odd); unlink(empty) }
        let s16 = RawPCMLayout.standard
        #expect(throws: AudioError.partialFrame(input: odd, byteCount: 3, frameBytes: 2)) {
            try AudioStream.open(AudioInputRequest(source: .file(path: odd), raw: s16, forceRaw: true)).readAll()
        }
        // Four bytes are two s16 samples but not one whole stereo s16 frame plus... they are: 4 = 1 frame.
        // Six bytes of stereo s16 end inside the second frame.
        let six = try Self.rawFile([0, 0, 0, 0, 0, 0])
        defer { unlink(six) }
        let stereo = RawPCMLayout(format: .s16le, sampleRate: 16_000, channels: 2)
        #expect(throws: AudioError.partialFrame(input: six, byteCount: 6, frameBytes: 4)) {
            try AudioStream.open(AudioInputRequest(source: .file(path: six), raw: stereo, forceRaw: true)).readAll()
        }
        #expect(throws: AudioError.noSamples(input: empty)) {
            try AudioStream.open(AudioInputRequest(source: .file(path: empty), raw: s16, forceRaw: true)).readAll()
        }
        for rate in [0, -5, 384_001, 10_000_000] {
            let layout = RawPCMLayout(format: .s16le, sampleRate: rate, channels: 1)
            #expect(throws: AudioError.invalidSampleRate(input: odd, rate: rate)) {
                try AudioStream.open(AudioInputRequest(source: .file(path: odd), raw: layout, forceRaw: true))
            }
        }
        let noChannels = RawPCMLayout(format: .s16le, sampleRate: 16_000, channels: 0)
        #expect(throws: AudioError.invalidChannelCount(input: odd, channels: 0)) {
            try AudioStream.open(AudioInputRequest(source: .file(path: odd), raw: noChannels, forceRaw: true))
        }
    }

    @Test(arguments: [(44_100, 16_000), (48_000, 16_000), (8_000, 16_000), (16_000, 22_050), (22_050, 16_000)])
    func resamplingKeepsLengthAndFrequency(sourceRate: Int, targetRate: Int) throws {
        let frames = sourceRate * 2 + 17
        let tone = 1_000.0
        let source = MemoryFrameSource(
            interleaved: AudioFixtures.sine(frequency: tone, rate: sourceRate, frames: frames, channels: 2),
            sampleRate: sourceRate, channels: 2)
        let stream = try AudioStream(source: source, targetRate: targetRate)
        #expect(stream.sampleRate == targetRate)
        let out = try stream.readAll()
        #expect(out.count == Int((Double(frames) * Double(targetRate) / Double(sourceRate)).rounded()))
        #expect(abs(AudioFixtures.dominantFrequency(out, rate: targetRate) - tone) < 2)
        // Amplitude of the downmix (0.5 and 0.25 -> 0.375) survives the filter.
        let peak = out[(out.count / 4)..<(out.count * 3 / 4)].map(abs).max() ?? 0
        #expect(abs(peak - 0.375) < 0.01)
    }

    @Test func sincFilterRemovesWhatLinearInterpolationAliases() throws {
        // 10 kHz at 44.1 kHz is above 16 kHz's Nyquist: it must vanish, not fold to 6 kHz.
        let tone = AudioFixtures.sine(frequency: 10_000, rate: 44_100, frames: 44_100)
        let source = MemoryFrameSource(interleaved: tone, sampleRate: 44_100, channels: 1)
        let sinc = try AudioStream(source: source, targetRate: 16_000).readAll()
        let linear = ReferenceAudioDecoder.linearResample(tone, from: 44_100, to: 16_000)
        func rms(_ x: [Float]) -> Float {
            let inner = x[1_000..<(x.count - 1_000)]
            return (inner.map { $0 * $0 }.reduce(0, +) / Float(inner.count)).squareRoot()
        }
        #expect(rms(sinc) < 0.001)
        #expect(rms(linear) > 0.05)
    }

    @Test(arguments: [1, 7, 160, 4_096, 100_000])
    func smallReadsEqualReadAll(readSize: Int) throws {
        let signal = AudioFixtures.sine(frequency: 700, rate: 44_100, frames: 30_011, channels: 2)
        func stream(block: Int) throws -> AudioStream {
            try AudioStream(source: MemoryFrameSource(interleaved: signal, sampleRate: 44_100, channels: 2),
                            targetRate: 16_000, blockFrames: block)
        }
        let all = try stream(block: 4_096).readAll()
        let pieces = try AudioFixtures.readInBlocks(stream(block: 4_096), size: readSize)
        #expect(pieces == all)
        // Feeding libsamplerate in other block sizes changes nothing beyond rounding.
        let otherBlocks = try stream(block: 333).readAll()
        #expect(otherBlocks.count == all.count)
        #expect(zip(otherBlocks, all).allSatisfy { abs($0 - $1) < 1e-5 })
    }

    @Test(arguments: [(1, 1), (7, 2), (4_096, 8)])
    func readAheadDeliversTheSameFrames(blockFrames: Int, depth: Int) throws {
        let signal = AudioFixtures.sine(frequency: 300, rate: 22_050, frames: 10_007, channels: 3)
        func source() -> MemoryFrameSource { MemoryFrameSource(interleaved: signal, sampleRate: 22_050, channels: 3) }
        let direct = try AudioStream(source: source(), targetRate: 16_000).readAll()
        let ahead = try AudioStream(source: ReadAheadSource(source(), blockFrames: blockFrames, depth: depth),
                                    targetRate: 16_000).readAll()
        #expect(ahead == direct)
    }

    @Test func droppingAStreamEarlyEndsItsDecoder() throws {
        let dir = try AudioFixtures.directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let signal = AudioFixtures.sine(frequency: 440, rate: 16_000, frames: 160_000)
        let path = try AudioFixtures.write(signal, to: dir, name: "long.flac", format: .flac, rate: 16_000, channels: 1)
        for _ in 0..<20 {
            let stream = try AudioStream.open(AudioInputRequest(source: .file(path: path)))
            var block = [Float](repeating: 0, count: 100)
            #expect(try block.withUnsafeMutableBufferPointer { try stream.read(into: $0) } == 100)
        }
        // With --duration the decoder is stopped at the limit too.
        let limited = try AudioStream.open(AudioInputRequest(source: .file(path: path), durationSeconds: 0.5))
        #expect(try limited.readAll().count == 8_000)
    }

    @Test func durationLimitsInput() throws {
        let signal = AudioFixtures.sine(frequency: 440, rate: 8_000, frames: 8_000)
        let stream = try AudioStream(source: MemoryFrameSource(interleaved: signal, sampleRate: 8_000, channels: 1),
                                     targetRate: 16_000, durationSeconds: 0.25)
        #expect(try stream.readAll().count == 4_000)
    }

    @Test func everyResampleQualityWorks() throws {
        for quality in ResampleQuality.allCases {
            let source = MemoryFrameSource(
                interleaved: AudioFixtures.sine(frequency: 500, rate: 48_000, frames: 4_800), sampleRate: 48_000, channels: 1)
            let out = try AudioStream(source: source, targetRate: 16_000, quality: quality).readAll()
            #expect(out.count == 1_600, "\(quality) gave \(out.count)")
        }
    }

    @Test func stdinContainerMagicIsRecognised() {
        #expect(AudioStream.looksEncoded(Array("RIFF\u{0}\u{0}\u{0}\u{0}WAVE".utf8)))
        #expect(AudioStream.looksEncoded(Array("fLaC".utf8)))
        #expect(AudioStream.looksEncoded(Array("OggS".utf8)))
        #expect(!AudioStream.looksEncoded([0, 0, 1, 0]))
        #expect(!AudioStream.looksEncoded([]))
    }

    @Test func rawWriterRoundTripsIntegers() throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        let values: [Float] = [0, 0.5, -1, 32767.0 / 32768, 2, .nan]
        let output = FileDescriptorOutput(fd: fds[1], name: "pipe")
        let writer = RawPCMWriter(output: output, format: .s16le)
        try values.withUnsafeBufferPointer { try writer.write($0) }
        try writer.finish()
        close(fds[1])
        var bytes = [UInt8](repeating: 0, count: 64)
        let n = read(fds[0], &bytes, 64)
        close(fds[0])
        #expect(n == 12)
        let ints = (0..<6).map { i in Int16(bitPattern: UInt16(bytes[2 * i]) | UInt16(bytes[2 * i + 1]) << 8) }
        #expect(ints == [0, 16384, -32768, 32767, 32767, 0])
    }

    @Test func configFileMatchesBuiltInDefaults() throws {
        let path = AudioFixtures.repositoryRoot.appendingPathComponent("config/copilot.toml").path
        let settings = try AudioSettings(configuration: Configuration(contentsOf: path))
        #expect(settings == AudioSettings.defaults)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        for key in AudioSettings.keys { #expect(text.contains("\n\(key) = "), "\(key) missing from copilot.toml") }
    }

    @Test func configValuesAreChecked() throws {
        #expect(throws: ConfigurationError.self) {
            try AudioSettings(configuration: Configuration(text: "[audio]\nraw_rate = 0\n", path: "c.toml"))
        }
        #expect(throws: ConfigurationError.self) {
            try AudioSettings(configuration: Configuration(text: "[audio]\nraw_format = \"u8\"\n", path: "c.toml"))
        }
        #expect(throws: ConfigurationError.self) {
            try AudioSettings(configuration: Configuration(text: "[audio]\nrate = 8000\n", path: "c.toml"))
        }
        let custom = try AudioSettings(configuration: Configuration(
            text: "[audio]\nraw_format = \"f32le\"\nraw_rate = 48000\nresample_quality = \"best\"\n", path: "c.toml"))
        #expect(custom.raw == RawPCMLayout(format: .f32le, sampleRate: 48_000, channels: 1))
        #expect(custom.quality == .best)
    }
}

@Suite struct ALSACaptureTests {
    /// ALSA's `null` PCM opens wherever alsa-lib and its configuration are installed.
    static let alsaAvailable: Bool = {
        (try? ALSACapture(device: "null", sampleRate: 16_000, channels: 1, periodMs: 20, maximumSeconds: 0.001)) != nil
    }()

    @Test(.enabled(if: alsaAvailable, "ALSA (alsa-lib with its configuration) is not installed; the null device cannot open"))
    func nullDeviceCapturesSilenceForTheDuration() throws {
        let request = AudioInputRequest(
            source: .device(name: "null"), raw: RawPCMLayout(format: .s16le, sampleRate: 16_000, channels: 1),
            durationSeconds: 0.5)
        let stream = try AudioStream.open(request)
        #expect(stream.description == "ALSA device null")
        let samples = try stream.readAll()
        #expect(samples.count == 8_000)
        #expect(samples.allSatisfy { $0 == 0 })
    }

    @Test(.enabled(if: alsaAvailable, "ALSA (alsa-lib with its configuration) is not installed; the null device cannot open"))
    func captureResamplesAndStops() throws {
        let request = AudioInputRequest(
            source: .device(name: "null"), raw: RawPCMLayout(format: .s16le, sampleRate: 48_000, channels: 2),
            targetRate: 16_000)
        let stream = try AudioStream.open(request)
        #expect(stream.sourceSampleRate == 48_000)
        var block = [Float](repeating: 1, count: 1_600)
        let n = try block.withUnsafeMutableBufferPointer { try stream.read(into: $0) }
        #expect(n > 0)
        stream.stop()
        // After stop the queued audio drains, then the stream ends: no hang.
        _ = try stream.readAll()
        #expect(try block.withUnsafeMutableBufferPointer { try stream.read(into: $0) } == 0)
    }

    @Test func missingDeviceIsANamedError() {
        #expect {
            try AudioStream.open(AudioInputRequest(source: .device(name: "copilot_no_such_device")))
        } throws: { error in
            guard case AudioError.deviceUnavailable(let device, _) = error else { return false }
            return device == "copilot_no_such_device"
        }
    }
}

/// What `copilot transcribe` reads: files opened as the CLI opens them, read in the
/// transcriber's blocks, give exactly what reading the whole file at once gives.
@Suite struct StreamedFileReadTests {
    @Test(arguments: [(AudioFileFormat.wav, 44_100, 2), (.flac, 48_000, 1), (.mp3, 44_100, 2), (.wav, 16_000, 1)])
    func blocksConcatenateToTheWholeRead(format: AudioFileFormat, rate: Int, channels: Int) throws {
        let dir = try AudioFixtures.directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let signal = AudioFixtures.sine(frequency: 440, rate: rate, frames: rate * 3 + 123, channels: channels)
        let path = try AudioFixtures.write(signal, to: dir, name: "t.\(format)", format: format, rate: rate, channels: channels)
        func open() throws -> AudioStream {
            try AudioStream.open(AudioInputRequest(source: .file(path: path), targetRate: 16_000))
        }
        let whole = try open().readAll()
        var blocks: [Float] = []
        var reads = 0
        try Transcriber.forEachBlock(of: open()) {
            blocks.append(contentsOf: $0)
            reads += 1
        }
        #expect(blocks == whole)
        #expect(reads >= 3, "read in \(reads) blocks")
        #expect(whole.count > 3 * 16_000)
    }
}
