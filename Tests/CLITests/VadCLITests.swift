import Foundation
import Testing

/// Raw s16le of silence and tone bursts: `parts` are (seconds, amplitude) at 16 kHz.
func vadAudio(_ parts: [(Double, Double)], tail: Int = 0) -> Data {
    var data = Data()
    var n = 0
    for (seconds, amplitude) in parts {
        for _ in 0..<Int(seconds * 16_000) {
            // Harmonics of 150 Hz, so the spectral detector hears a voiced sound too.
            let t = Double(n) / 16_000
            let v = amplitude * (0.6 * sin(2 * .pi * 150 * t) + 0.3 * sin(2 * .pi * 300 * t) + 0.2 * sin(2 * .pi * 450 * t))
            let s = Int16(max(-32_768, min(32_767, (v * 32_767).rounded())))
            withUnsafeBytes(of: s.littleEndian) { data.append(contentsOf: $0) }
            n += 1
        }
    }
    data.append(Data(count: tail * 2))
    return data
}

@Suite struct VadCLITests {
    init() {
        // Bad-input runs exit before reading stdin; writing to them must fail with EPIPE,
        // not kill the test process.
        signal(SIGPIPE, SIG_IGN)
    }

    @Test func framesFormatIsExact() throws {
        // 1 s silence, 0.5 s tone, 0.3 s silence, plus 100 samples: the partial frame is dropped.
        let audio = vadAudio([(1, 0), (0.5, 0.3), (0.3, 0)], tail: 100)
        let r = try CLI.run(["vad", "--format", "frames", "--frame-ms", "10", "--detector", "energy"], stdin: audio)
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out == String(repeating: "0\n", count: 100) + String(repeating: "1\n", count: 50) + String(repeating: "0\n", count: 30))
        for ms in [10, 20, 30] {
            let d = try CLI.run(["vad", "--format", "frames", "--frame-ms", "\(ms)"], stdin: audio)
            #expect(d.status == 0)
            let lines = d.out.split(separator: "\n", omittingEmptySubsequences: false)
            #expect(lines.count == (28_900 / (ms * 16)) + 1)
            #expect(lines.dropLast().allSatisfy { $0 == "0" || $0 == "1" })
            #expect(lines.last == "")
        }
    }

    @Test func segmentsOfToneBursts() throws {
        let audio = vadAudio([(1, 0), (0.6, 0.3), (1, 0), (0.9, 0.3), (0.5, 0)])
        let r = try CLI.run(["vad", "--detector", "energy", "--frame-ms", "10", "--min-silence-ms", "100", "--min-speech-ms", "0"], stdin: audio)
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out == "1.000 1.600\n2.600 3.500\n")
        let json = try CLI.run(["vad", "--detector", "energy", "--frame-ms", "10", "--format", "json"], stdin: audio)
        #expect(json.out == "{\"start\":1.000,\"end\":1.600,\"probability\":1.000}\n{\"start\":2.600,\"end\":3.500,\"probability\":1.000}\n")
    }

    @Test func defaultDetectorFindsBurstsInNoise() throws {
        var audio = Data()
        var rng = UInt64(7)
        let bursts = vadAudio([(1.5, 0), (0.8, 0.4), (1.5, 0), (0.8, 0.4), (1.5, 0)])
        bursts.withUnsafeBytes { raw in
            for i in 0..<(bursts.count / 2) {
                rng = rng &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                let noise = Int32(Int64(bitPattern: rng) >> 54)  // about +-512: -36 dBFS
                let v = Int32(raw.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self)) + noise
                let s = Int16(max(-32_768, min(32_767, v)))
                withUnsafeBytes(of: s.littleEndian) { audio.append(contentsOf: $0) }
            }
        }
        let r = try CLI.run(["vad"], stdin: audio)
        #expect(r.status == 0, "\(r.err)")
        let segments = r.out.split(separator: "\n").map { $0.split(separator: " ").compactMap { Double($0) } }
        #expect(segments.count == 2, "\(r.out)")
        if segments.count == 2 {
            #expect(abs(segments[0][0] - 1.5) < 0.15 && abs(segments[0][1] - 2.3) < 0.3)
            #expect(abs(segments[1][0] - 3.8) < 0.15 && abs(segments[1][1] - 4.6) < 0.3)
        }
    }

    @Test func shapingOptions() throws {
        let audio = vadAudio([(0.5, 0), (0.05, 0.3), (0.5, 0), (0.4, 0.3), (0.08, 0), (0.4, 0.3), (0.5, 0)])
        let base = ["vad", "--detector", "energy", "--frame-ms", "10"]
        // The 50 ms blip is dropped by --min-speech-ms 100; the 80 ms gap is bridged.
        let r = try CLI.run(base + ["--min-speech-ms", "100", "--min-silence-ms", "100"], stdin: audio)
        #expect(r.out == "1.050 1.930\n")
        // A shorter min-silence splits at the gap; pre-roll moves starts back.
        let split = try CLI.run(base + ["--min-speech-ms", "100", "--min-silence-ms", "50", "--pad-ms", "200"], stdin: audio)
        #expect(split.out == "0.850 1.450\n1.450 1.930\n")
    }

    @Test func badInputIsRefused() throws {
        let audio = vadAudio([(0.1, 0.1)])
        let cases: [([String], String)] = [
            (["--frame-ms", "25"], "--frame-ms 25"),
            (["--aggressiveness", "4"], "--aggressiveness 4"),
            (["--threshold", "1.5"], "--threshold 1.5"),
            (["--threshold", "nan"], "--threshold"),
            (["--min-silence-ms=-5"], "--min-silence-ms -5"),
            (["--pad-ms=700000"], "--pad-ms 700000"),
            (["--detector", "silero"], "silero"),
            (["/nonexistent/audio.raw"], "/nonexistent/audio.raw"),
        ]
        for (args, fragment) in cases {
            let r = try CLI.run(["vad"] + args, stdin: audio)
            #expect(r.status != 0 && r.status != -1, "\(args)")
            #expect(r.err.contains(fragment), "\(args): \(r.err)")
            #expect(r.err.hasPrefix("Error: "), "\(args): \(r.err)")
        }
        let odd = try CLI.run(["vad"], stdin: audio + Data([1]))
        #expect(odd.status == 1)
        #expect(odd.err.contains("inside a sample"))
        let file = try CLI.temporaryDirectory().appendingPathComponent("a-file")
        try Data("x".utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file.deletingLastPathComponent()) }
        let notDirectory = try CLI.run(["vad", "--split", file.path], stdin: audio)
        #expect(notDirectory.status == 1 && notDirectory.err.contains(file.path) && notDirectory.err.contains("it is a file"))
        let combo = try CLI.run(["vad", "--split", "/tmp", "--format", "frames"], stdin: audio)
        #expect(combo.status == 64)
        // NaN and infinite float samples are clipping, never a crash.
        var floats = Data()
        for i in 0..<16_000 {
            let v: Float = i % 7 == 0 ? .nan : i % 11 == 0 ? .infinity : i % 13 == 0 ? -.infinity : 0.01
            withUnsafeBytes(of: v.bitPattern.littleEndian) { floats.append(contentsOf: $0) }
        }
        for detector in ["default", "energy"] {
            let nan = try CLI.run(["vad", "--raw", "f32le", "--detector", detector, "--format", "frames"], stdin: floats)
            #expect(nan.status == 0, "\(nan.err)")
            #expect(nan.out.split(separator: "\n").count == 33)
        }
        let empty = try CLI.run(["vad"], stdin: Data())
        #expect(empty.status == 1 && empty.out.isEmpty && empty.err.contains("no audio"))
    }

    @Test func splitWritesOneWavPerSegment() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let audio = vadAudio([(1, 0), (0.6, 0.3), (1, 0), (0.9, 0.3), (0.5, 0)])
        let r = try CLI.run(["vad", "--detector", "energy", "--frame-ms", "10", "--min-silence-ms", "100", "--pad-ms", "100", "--split", dir.path], stdin: audio)
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out == "0.900 1.600\n2.500 3.500\n")
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        #expect(names == ["0000_0.900.wav", "0001_2.500.wav"])
        // 16-bit mono WAV: 44-byte header + 2 bytes per sample (0.7 s and 1.0 s).
        let sizes = try names.map { try FileManager.default.attributesOfItem(atPath: dir.appendingPathComponent($0).path)[.size] as? Int }
        #expect(sizes == [44 + 2 * 11_200, 44 + 2 * 16_000])

        // A second run into the same folder: refused while the old segments are there, then
        // --overwrite replaces them and leaves the user's other files alone.
        try Data("keep".utf8).write(to: dir.appendingPathComponent("notes.txt"))
        let one = vadAudio([(1, 0), (0.6, 0.3), (1, 0)])
        let args = ["vad", "--detector", "energy", "--frame-ms", "10", "--min-silence-ms", "100", "--split", dir.path]
        let refused = try CLI.run(args, stdin: one)
        #expect(refused.status == 1 && refused.err.contains("2 segment files of an earlier run") && refused.err.contains("--overwrite"))
        let again = try CLI.run(args + ["--overwrite"], stdin: one)
        #expect(again.status == 0, "\(again.err)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["0000_1.000.wav", "notes.txt"])

        // A folder that does not exist yet is created, parents too.
        let nested = dir.appendingPathComponent("new/segments")
        let created = try CLI.run(["vad", "--detector", "energy", "--frame-ms", "10", "--split", nested.path], stdin: one)
        #expect(created.status == 0, "\(created.err)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: nested.path).count == 1)
    }

    @Test func configSectionIsUsed() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("c.toml").path
        try "[vad]\ndetector = \"energy\"\nframe_ms = 10\nmin_silence_ms = 100\nmin_speech_ms = 0\n".write(toFile: path, atomically: true, encoding: .utf8)
        let audio = vadAudio([(1, 0), (0.6, 0.3), (1, 0)])
        let r = try CLI.run(["vad", "--config", path], stdin: audio)
        #expect(r.out == "1.000 1.600\n")
        try "[vad]\naggressiveness = 9\n".write(toFile: path, atomically: true, encoding: .utf8)
        let bad = try CLI.run(["vad", "--config", path], stdin: audio)
        #expect(bad.status == 1 && bad.err.contains("vad.aggressiveness"))
    }

    /// A segment's line arrives while stdin is still open: write speech then enough silence,
    /// read the line, and only then close stdin.
    @Test(arguments: ["energy", "default"])
    func segmentIsPrintedBeforeInputEnds(detector: String) throws {
        let process = Process()
        process.executableURL = CLI.binary
        process.arguments = ["vad", "--detector", detector, "--min-silence-ms", "200"]
        process.environment = ["COPILOT_CONFIG": "/nonexistent-not-used", "XDG_CONFIG_HOME": "/nonexistent"]
        process.environment?["COPILOT_CONFIG"] = nil
        let inPipe = Pipe(), outPipe = Pipe()
        process.standardInput = inPipe
        process.standardOutput = outPipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let audio = vadAudio([(1.0, 0), (0.8, 0.4), (0.5, 0)])
        var noisy = audio
        // Low noise so the spectral detector has a floor to track.
        noisy.withUnsafeMutableBytes { raw in
            for i in 0..<(raw.count / 2) {
                let v = raw.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self)
                raw.storeBytes(of: v &+ Int16(truncatingIfNeeded: (i &* 7_919) % 61 - 30), toByteOffset: 2 * i, as: Int16.self)
            }
        }
        try inPipe.fileHandleForWriting.write(contentsOf: noisy)
        // Read until a newline; stdin stays open meanwhile. A watchdog closes stdin after 30 s so a
        // failure cannot hang the suite (the line would then arrive only after the close).
        let closedEarly = LockedFlag()
        let watchdog = DispatchWorkItem {
            closedEarly.set()
            try? inPipe.fileHandleForWriting.close()
        }
        DispatchQueue.global().asyncAfter(deadline: .now() + 30, execute: watchdog)
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = outPipe.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        let arrivedWhileOpen = !closedEarly.value
        watchdog.cancel()
        if arrivedWhileOpen { try inPipe.fileHandleForWriting.close() }
        process.waitUntilExit()
        #expect(arrivedWhileOpen)
        #expect(String(decoding: line, as: UTF8.self).hasPrefix("1."))
    }
}

final class LockedFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var flag = false
    func set() { lock.lock(); flag = true; lock.unlock() }
    var value: Bool { lock.lock(); defer { lock.unlock() }; return flag }
}
