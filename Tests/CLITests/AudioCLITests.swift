import CopilotCore
import Foundation
import Testing

/// The shared audio input and `copilot convert`, through the built binary.
@Suite struct AudioCLITests {
    init() {
        // Several runs end before reading all the stdin they are given (a bad --rate, a WAV
        // data chunk that ends early); writing the rest must fail with EPIPE, not kill the
        // test process with SIGPIPE.
        signal(SIGPIPE, SIG_IGN)
    }

    static func sine(rate: Int, frames: Int, channels: Int) -> [Float] {
        var out = [Float](repeating: 0, count: frames * channels)
        for i in 0..<frames {
            let v = Float(0.4 * sin(2 * Double.pi * 440 * Double(i) / Double(rate)))
            for c in 0..<channels { out[i * channels + c] = v }
        }
        return out
    }

    static func writeFile(_ dir: URL, _ name: String, format: AudioFileFormat, rate: Int = 44_100, channels: Int = 2,
                          seconds: Double = 1) throws -> String {
        let path = dir.appendingPathComponent(name).path
        let writer = try AudioFileWriter(path: path, format: format, sampleRate: rate, channels: channels)
        try writer.write(sine(rate: rate, frames: Int(seconds * Double(rate)), channels: channels))
        try writer.finish()
        return path
    }

    static func s16le(_ values: [Int16]) -> Data {
        var data = Data()
        for v in values { withUnsafeBytes(of: v.littleEndian) { data.append(contentsOf: $0) } }
        return data
    }

    /// A failed run: exit status in 1...127, one line on stderr that names `input`. (A live
    /// pipe may have streamed the samples before the fault to stdout, as any stream does.)
    static func expectOneLineError(_ r: CLIResult, naming input: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(r.status >= 1 && r.status <= 127, "status \(r.status)", sourceLocation: sourceLocation)
        let lines = r.err.split(separator: "\n")
        #expect(lines.count == 1, "stderr: \(r.err)", sourceLocation: sourceLocation)
        #expect(r.err.contains(input), "stderr: \(r.err)", sourceLocation: sourceLocation)
    }

    @Test func convertFLACToWAVAt16kMono() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let flac = try Self.writeFile(dir, "in.flac", format: .flac)
        let out = dir.appendingPathComponent("out.wav").path
        let r = try CLI.run(["convert", flac, "--out-rate", "16000", "--to", out])
        #expect(r.status == 0, "\(r.err)")
        let samples = try AudioStream.open(AudioInputRequest(source: .file(path: out)))
        #expect(samples.sampleRate == 16_000 && samples.sourceChannels == 1)
        #expect(try samples.readAll().count == 16_000)
    }

    @Test func rawStdinPassesThroughByteForByte() throws {
        let input = Self.s16le((0..<4_000).map { Int16(truncatingIfNeeded: $0 &* 37) })
        let r = try CLI.run(["convert", "--to", "-"], stdin: input)
        #expect(r.status == 0, "\(r.err)")
        #expect(r.stdout == input)
    }

    @Test func encodedFileOnStdinIsDecoded() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let wav = try Self.writeFile(dir, "in.wav", format: .wav, rate: 16_000, channels: 1, seconds: 0.5)
        let r = try CLI.run(["convert", "-", "--to", "-", "--out-raw", "f32le"], stdin: try Data(contentsOf: URL(fileURLWithPath: wav)))
        #expect(r.status == 0, "\(r.err)")
        #expect(r.stdout.count == 8_000 * 4)
    }

    /// An MP3 without an ID3 tag (libsndfile's LAME writes none; a tag is cut off if there is
    /// one) has no magic: stdin finds it by two MPEG frame headers and decodes it as the file
    /// would be (it was read as raw PCM once, exit 0 with noise).
    @Test func mp3WithoutTagOnStdinIsDecodedLikeTheFile() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let mp3 = try Self.writeFile(dir, "in.mp3", format: .mp3, rate: 16_000, channels: 1)
        let tagged = [UInt8](try Data(contentsOf: URL(fileURLWithPath: mp3)))
        let bare = Data(tagged.dropFirst(AudioFileDecoder.id3TagBytes(Array(tagged.prefix(10)))))
        #expect(bare.starts(with: [0xFF]))
        let file = try CLI.run(["convert", mp3, "--to", "-", "--out-raw", "f32le"])
        let piped = try CLI.run(["convert", "-", "--to", "-", "--out-raw", "f32le"], stdin: bare)
        #expect(file.status == 0 && piped.status == 0 && piped.err.isEmpty, "\(piped.err)")
        #expect(piped.stdout == file.stdout && file.stdout.count >= 16_000 * 4)
        // Raw PCM passes as before: --raw, or bytes that are not MPEG frames.
        let raw = try CLI.run(["convert", "--raw", "s16le", "--to", "-"], stdin: bare)
        #expect(raw.status == 0 && raw.stdout == bare)
    }

    /// A damaged MP3 (false frame headers written all through its audio) decodes with the
    /// damage skipped, or fails with one line of copilot's own; libmpg123 prints nothing.
    @Test func damagedMP3PrintsNothingFromTheDecoder() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let mp3 = try Self.writeFile(dir, "in.mp3", format: .mp3, rate: 16_000, channels: 1)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: mp3)))
        bytes.removeFirst(AudioFileDecoder.id3TagBytes(Array(bytes.prefix(10))))
        let second = try #require(MPEGAudioFrameHeader(bytes)).frameBytes
        for i in stride(from: second * 3, to: bytes.count - 8, by: 97) { bytes[i] = 0xFF; bytes[i + 1] = 0xE5 }
        let damaged = dir.appendingPathComponent("damaged.mp3")
        try Data(bytes).write(to: damaged)
        let r = try CLI.run(["convert", damaged.path, "--to", "-"])
        if r.status == 0 {
            #expect(r.err.isEmpty, "stderr: \(r.err)")
        } else {
            Self.expectOneLineError(r, naming: damaged.path)
        }
        #expect(!r.err.contains("Note:") && !r.err.contains("mpg123"), "stderr: \(r.err)")
    }

    @Test func rawStereoStdinResamples() throws {
        let input = Self.s16le([Int16](repeating: 1_000, count: 48_000 * 2))
        let r = try CLI.run(["convert", "--rate", "48000", "--channels", "2", "--out-rate", "16000", "--to", "-"], stdin: input)
        #expect(r.status == 0, "\(r.err)")
        #expect(r.stdout.count == 16_000 * 2)
    }

    @Test func nullDeviceCaptureWithDuration() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("null.flac").path
        let r = try CLI.run(["convert", "--device", "null", "--duration", "0.25", "--to", out], timeout: 20)
        if r.err.contains("cannot open ALSA capture device null") {
            // alsa-lib is absent on this machine; the message is still the one-line error.
            Self.expectOneLineError(r, naming: "null")
            return
        }
        #expect(r.status == 0, "\(r.err)")
        #expect(try AudioStream.open(AudioInputRequest(source: .file(path: out))).readAll().count == 4_000)
    }

    @Test func writtenFormatFollowsExtension() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = Self.s16le([Int16](repeating: 0, count: 1_600))
        let bad = try CLI.run(["convert", "--to", dir.appendingPathComponent("x.aiff").path], stdin: input)
        #expect(bad.status == 64)
        #expect(bad.err.contains("x.aiff"))
        let flac = dir.appendingPathComponent("x.flac").path
        let good = try CLI.run(["convert", "--to", flac], stdin: input)
        #expect(good.status == 0, "\(good.err)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: flac)).prefix(4) == Data("fLaC".utf8))
    }

    @Test func badInputsFailWithOneLine() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let wav = try Self.writeFile(dir, "ok.wav", format: .wav)
        let flac = try Self.writeFile(dir, "ok.flac", format: .flac)
        let truncatedWAV = dir.appendingPathComponent("truncated.wav").path
        try Data(contentsOf: URL(fileURLWithPath: wav)).prefix(10_000).write(to: URL(fileURLWithPath: truncatedWAV))
        let truncatedFLAC = dir.appendingPathComponent("truncated.flac").path
        try Data(contentsOf: URL(fileURLWithPath: flac)).prefix(10_000).write(to: URL(fileURLWithPath: truncatedFLAC))
        var garbage = try Data(contentsOf: URL(fileURLWithPath: flac))
        for i in stride(from: 100, to: garbage.count, by: 5) { garbage[i] ^= 0x5A }
        let corruptFLAC = dir.appendingPathComponent("corrupt.flac").path
        try garbage.write(to: URL(fileURLWithPath: corruptFLAC))
        let text = dir.appendingPathComponent("readme.txt").path
        try "not audio at all\n".write(toFile: text, atomically: true, encoding: .utf8)
        let out = dir.appendingPathComponent("out.wav").path

        for path in [truncatedWAV, truncatedFLAC, corruptFLAC, text, dir.appendingPathComponent("absent.wav").path] {
            let r = try CLI.run(["convert", path, "--to", out])
            Self.expectOneLineError(r, naming: path)
        }
        #expect(!FileManager.default.fileExists(atPath: out), "no half-written output")

        Self.expectOneLineError(try CLI.run(["convert", "--to", "-"], stdin: Data()), naming: "stdin")
        #expect(try CLI.run(["convert", "--to", "-"], stdin: Data()).err.contains("no audio on stdin"))
        Self.expectOneLineError(try CLI.run(["convert", "--to", "-"], stdin: Data([1, 2, 3])), naming: "stdin")
        Self.expectOneLineError(try CLI.run(["convert", "--raw", "s32le", "--to", "-"], stdin: Data([1, 2, 3, 4, 5, 6])), naming: "stdin")
        for rate in ["0", "999999", "-1"] {
            let flag = "--rate=\(rate)"
            Self.expectOneLineError(try CLI.run(["convert", flag, "--to", "-"], stdin: Data([0, 0])), naming: rate)
        }
        Self.expectOneLineError(try CLI.run(["convert", "--device", "copilot_missing_device", "--to", out]), naming: "copilot_missing_device")
        let outRate = try CLI.run(["convert", wav, "--out-rate", "0", "--to", out])
        #expect(outRate.status == 64)
        #expect(outRate.err.split(separator: "\n").first?.contains("--out-rate") == true)

        // Parse errors come from ArgumentParser: exit 64, the value named on the first line.
        let unknownRaw = try CLI.run(["convert", "--raw", "u8", "--to", "-"], stdin: Data([0, 0]))
        #expect(unknownRaw.status == 64)
        #expect(unknownRaw.err.split(separator: "\n").first?.contains("u8") == true)
        let both = try CLI.run(["convert", wav, "--device", "null", "--to", out])
        #expect(both.status == 64)
        #expect(both.err.contains("--device"))
    }

    @Test func closedStdoutExitsQuietly() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("in.raw")
        try Self.s16le([Int16](repeating: 7, count: 400_000)).write(to: input)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", "\"$0\" convert --to - < \"$1\" | head -c 10 > /dev/null; exit ${PIPESTATUS[0]}",
                             CLI.binary.path, input.path]
        let errPipe = Pipe()
        process.standardError = errPipe
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let err = String(decoding: errPipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(err.isEmpty, "stderr: \(err)")
    }

    @Test func interruptEndsCaptureCleanly() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("live.wav").path
        let process = Process()
        process.executableURL = CLI.binary
        process.arguments = ["convert", "--device", "null", "--out-rate", "8000", "--to", out]
        let errPipe = Pipe()
        process.standardError = errPipe
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        // The temporary output appears once the capture runs and the handler is installed;
        // wait until audio has reached it too (a capture stopped at once is rightly empty).
        let deadline = Date().addingTimeInterval(20)
        while process.isRunning && Date() < deadline {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
            if let temporary = names.first(where: { $0.hasPrefix(".live.wav.tmp") }),
               let size = try? FileManager.default.attributesOfItem(atPath: dir.appendingPathComponent(temporary).path)[.size] as? Int,
               size > 4_096 {
                break
            }
            usleep(5_000)
        }
        let err: String
        if process.isRunning {
            process.interrupt()
            let stopBy = Date().addingTimeInterval(20)
            while process.isRunning && Date() < stopBy { usleep(10_000) }
            if process.isRunning { process.terminate() }
        }
        process.waitUntilExit()
        err = String(decoding: errPipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        if err.contains("cannot open ALSA capture device null") { return }  // no alsa-lib here
        #expect(process.terminationReason == .exit && process.terminationStatus == 0, "stderr: \(err)")
        #expect(err.isEmpty, "stderr: \(err)")
        let samples = try AudioStream.open(AudioInputRequest(source: .file(path: out))).readAll()
        #expect(!samples.isEmpty)
    }

    @Test func interruptEndsPipedInputCleanly() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("piped.wav").path
        let process = Process()
        process.executableURL = CLI.binary
        process.arguments = ["convert", "--to", out]
        let inPipe = Pipe(), errPipe = Pipe()
        process.standardInput = inPipe
        process.standardError = errPipe
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        // 0.1 s of audio arrives; the writer (still open) then goes quiet, like a paused arecord.
        try inPipe.fileHandleForWriting.write(contentsOf: Self.s16le([Int16](repeating: 100, count: 1_600)))
        let deadline = Date().addingTimeInterval(20)
        while process.isRunning && Date() < deadline {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
            if let temporary = names.first(where: { $0.hasPrefix(".piped.wav.tmp") }),
               let size = try? FileManager.default.attributesOfItem(atPath: dir.appendingPathComponent(temporary).path)[.size] as? Int,
               size >= 44 + 3_200 {
                break
            }
            usleep(5_000)
        }
        process.interrupt()
        let stopBy = Date().addingTimeInterval(20)
        while process.isRunning && Date() < stopBy { usleep(10_000) }
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        try? inPipe.fileHandleForWriting.close()
        let err = String(decoding: errPipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationReason == .exit && process.terminationStatus == 0, "stderr: \(err)")
        #expect(try AudioStream.open(AudioInputRequest(source: .file(path: out))).readAll().count == 1_600)
    }

    /// A WAV header as `arecord` writes it to a pipe: the data size is unknown (0x7FFFFFFF).
    static func streamingWAVHeader(rate: Int, channels: Int) -> Data {
        var d = Data("RIFF".utf8)
        func le32(_ v: Int) { withUnsafeBytes(of: UInt32(v).littleEndian) { d.append(contentsOf: $0) } }
        func le16(_ v: Int) { withUnsafeBytes(of: UInt16(v).littleEndian) { d.append(contentsOf: $0) } }
        le32(0x7FFF_FFFF)
        d.append(contentsOf: Array("WAVEfmt ".utf8))
        le32(16); le16(1); le16(channels); le32(rate); le32(rate * channels * 2); le16(channels * 2); le16(16)
        d.append(contentsOf: Array("data".utf8))
        le32(0x7FFF_FFFF)
        return d
    }

    @Test func wavPipeIsStreamedLive() throws {
        let process = Process()
        process.executableURL = CLI.binary
        process.arguments = ["convert", "--to", "-"]
        let inPipe = Pipe(), outPipe = Pipe()
        process.standardInput = inPipe
        process.standardOutput = outPipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let samples = Self.s16le((0..<1_600).map { Int16($0) })
        try inPipe.fileHandleForWriting.write(contentsOf: Self.streamingWAVHeader(rate: 16_000, channels: 1) + samples)
        // The writer stays open, like a live arecord: the samples must come out anyway.
        let closer = DispatchWorkItem { try? inPipe.fileHandleForWriting.close() }
        DispatchQueue.global().asyncAfter(deadline: .now() + 15, execute: closer)
        var received = Data()
        let started = Date()
        while received.count < samples.count {
            let chunk = outPipe.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            received.append(chunk)
        }
        let waited = Date().timeIntervalSince(started)
        closer.cancel()
        try? inPipe.fileHandleForWriting.close()
        process.waitUntilExit()
        #expect(received.prefix(samples.count) == samples)
        #expect(waited < 10, "output arrived only when stdin closed")
        #expect(process.terminationStatus == 0)
    }

    @Test func wavStreamWithKnownSizeStopsAtItsDataChunk() throws {
        var wav = Self.streamingWAVHeader(rate: 8_000, channels: 2)
        let samples = Self.s16le([100, 300, -200, -400])
        wav.replaceSubrange((wav.count - 4)..<wav.count, with: [8, 0, 0, 0])
        wav.append(samples)
        wav.append(Data("LIST\u{4}\u{0}\u{0}\u{0}abcd".utf8))  // a trailing chunk is not audio
        let r = try CLI.run(["convert", "--to", "-"], stdin: wav)
        #expect(r.status == 0, "\(r.err)")
        #expect(r.stdout == Self.s16le([200, -300]))
        let cut = try CLI.run(["convert", "--to", "-"], stdin: wav.prefix(30))
        Self.expectOneLineError(cut, naming: "stdin")
    }
}
