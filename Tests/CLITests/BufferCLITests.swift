import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Little-endian bytes of integer samples.
private func pcm16(_ values: some Sequence<Int>) -> Data {
    var data = Data()
    for v in values { withUnsafeBytes(of: Int16(truncatingIfNeeded: v).littleEndian) { data.append(contentsOf: $0) } }
    return data
}

private func pcm32(_ values: some Sequence<Int>) -> Data {
    var data = Data()
    for v in values { withUnsafeBytes(of: Int32(truncatingIfNeeded: v).littleEndian) { data.append(contentsOf: $0) } }
    return data
}

private func samples16(_ data: Data) -> [Int] {
    stride(from: 0, to: data.count - 1, by: 2).map { i in
        Int(Int16(bitPattern: UInt16(data[data.startIndex + i]) | UInt16(data[data.startIndex + i + 1]) << 8))
    }
}

private func samples32(_ data: Data) -> [Int] {
    stride(from: 0, to: data.count - 3, by: 4).map { i in
        var v: UInt32 = 0
        for k in 0..<4 { v |= UInt32(data[data.startIndex + i + k]) << (8 * k) }
        return Int(Int32(bitPattern: v))
    }
}

/// A running `copilot` whose stdin and stdout the test drives by hand.
private final class LiveProcess: @unchecked Sendable {
    let process = Process()
    let stdin = Pipe()
    let stdout = Pipe()
    let stderr = Pipe()

    init(_ args: [String]) throws {
        process.executableURL = CLI.binary
        process.arguments = args
        var env = ProcessInfo.processInfo.environment
        env["COPILOT_CONFIG"] = nil
        env["XDG_CONFIG_HOME"] = "/nonexistent"
        process.environment = env
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
    }

    /// Reads exactly `count` bytes of stdout (fewer at its end).
    func readOut(_ count: Int) -> Data {
        var data = Data()
        while data.count < count {
            let chunk = stdout.fileHandleForReading.readData(ofLength: count - data.count)
            if chunk.isEmpty { break }
            data.append(chunk)
        }
        return data
    }

    /// Bytes written to stdin that the process has not read yet.
    func unreadInput() -> Int32 {
        var pending: Int32 = 0
        _ = ioctl(stdin.fileHandleForWriting.fileDescriptor, UInt(FIONREAD), &pending)
        return pending
    }

    /// True once the process has replaced SIGUSR1's default action (ignored or caught).
    func handlesUSR1() -> Bool {
        guard let status = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8) else { return false }
        let bit = UInt64(1) << UInt64(SIGUSR1 - 1)
        for line in status.split(separator: "\n") where line.hasPrefix("SigIgn:") || line.hasPrefix("SigCgt:") {
            if let mask = UInt64(line.split(separator: "\t").last ?? "", radix: 16), mask & bit != 0 { return true }
        }
        return false
    }

    /// Waits up to `seconds` for `condition`.
    static func wait(seconds: Double, until condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(5_000)
        }
        return condition()
    }
}

@Suite struct BufferCLITests {
    @Test func helpShowsExamples() throws {
        let r = try CLI.run(["buffer", "--help"])
        #expect(r.status == 0)
        #expect(r.out.contains("copilot buffer"))
        #expect(r.out.contains("drop-oldest"))
    }

    @Test func passesRandomBytesThroughUnchanged() throws {
        var random = SystemRandomNumberGenerator()
        var words = [UInt64](repeating: 0, count: 750_001)
        for i in words.indices { words[i] = random.next() }
        // 6 MB and 3 bytes: not a multiple of the ring, the pipe or a sample frame.
        let input = words.withUnsafeBytes { Data($0.prefix(6_000_003)) }
        let r = try CLI.run(["buffer", "--raw", "f32le", "--channels", "1", "--rate", "8000"], stdin: input)
        #expect(r.stdout.count == input.count)
        let same = r.stdout == input  // compared outside #expect: a 6 MB diff would take minutes to print
        #expect(same)
        #expect(r.err.contains("6000003 bytes is not a whole number of f32le sample frames"))
        let even = input.prefix(6_000_000)
        let blocking = try CLI.run(["buffer"], stdin: even)
        #expect(blocking.status == 0, "\(blocking.err)")
        let sameAgain = blocking.stdout == even
        #expect(sameAgain)
        // 6 MB is 187.5 s of 16 kHz s16le: a 200 s ring never has to drop.
        let dropping = try CLI.run(["buffer", "--policy", "drop-oldest", "--capacity-ms", "200000"], stdin: even)
        let sameDropping = dropping.stdout == even
        #expect(sameDropping, "a ring bigger than the input never drops")
    }

    @Test func emptyStdinIsAnError() throws {
        let r = try CLI.run(["buffer"], stdin: Data())
        #expect(r.status == 1)
        #expect(r.stdout.isEmpty)
        #expect(r.err.contains("no audio on stdin"))
    }

    @Test func durationLimitsRawInput() throws {
        let r = try CLI.run(["buffer", "--rate", "1000", "--duration", "0.25"], stdin: pcm16(0..<1000))
        #expect(r.status == 0, "\(r.err)")
        #expect(samples16(r.stdout) == Array(0..<250))
    }

    @Test func decodedFileComesOutAsRawS16() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let values = (0..<800).map { ($0 * 37) % 20000 - 10000 }
        let body = pcm16(values)
        var wav = Data("RIFF".utf8)
        func le32(_ v: Int) { withUnsafeBytes(of: UInt32(v).littleEndian) { wav.append(contentsOf: $0) } }
        func le16(_ v: Int) { withUnsafeBytes(of: UInt16(v).littleEndian) { wav.append(contentsOf: $0) } }
        le32(36 + body.count)
        wav.append(contentsOf: Data("WAVEfmt ".utf8))
        le32(16); le16(1); le16(1); le32(8000); le32(16000); le16(2); le16(16)
        wav.append(contentsOf: Data("data".utf8))
        le32(body.count)
        wav.append(body)
        let path = dir.appendingPathComponent("tone.wav")
        try wav.write(to: path)
        let r = try CLI.run(["buffer", path.path, "--frame-ms", "10"])
        #expect(r.status == 0, "\(r.err)")
        // 8000 Hz: 10 ms frames of 80 samples, 800 samples = 10 frames, values unchanged.
        #expect(samples16(r.stdout) == values)

        // The same WAV on stdin (what `arecord | copilot buffer` pipes): decoded by the same
        // rule as every subcommand, its header never read as samples; --raw takes it as bytes.
        let piped = try CLI.run(["buffer", "--frame-ms", "10"], stdin: wav)
        #expect(piped.status == 0, "\(piped.err)")
        #expect(samples16(piped.stdout) == values, "10 ms at the header's 8000 Hz is 80 samples; values unchanged")
        let raw = try CLI.run(["buffer", "--raw", "s16le"], stdin: wav)
        let whole = raw.stdout == wav
        #expect(raw.status == 0 && whole, "--raw passes the header through as bytes")
    }

    @Test func rawStdinShorterThanAMagicPassesThrough() throws {
        let r = try CLI.run(["buffer"], stdin: pcm16([1, -2, 3]))
        #expect(r.status == 0, "\(r.err)")
        #expect(samples16(r.stdout) == [1, -2, 3])
    }

    @Test func reframesWithOverlapAndPadsTheLastFrame() throws {
        // 1000 Hz: a 10 ms frame is 10 samples, a 5 ms hop 5 samples.
        let r = try CLI.run(["buffer", "--rate", "1000", "--frame-ms", "10", "--hop-ms", "5"], stdin: pcm16(0..<103))
        #expect(r.status == 0, "\(r.err)")
        let out = samples16(r.stdout)
        // Frames start at 0, 5, ..., 95: the one at 95 holds 95...102 and two zeros.
        #expect(out.count == 20 * 10)
        for k in 0..<19 { #expect(Array(out[(k * 10)..<(k * 10 + 10)]) == Array((k * 5)..<(k * 5 + 10))) }
        #expect(Array(out[190..<200]) == Array(95..<103) + [0, 0])
        let exact = try CLI.run(["buffer", "--rate", "1000", "--frame-ms", "10"], stdin: pcm16(0..<100))
        #expect(samples16(exact.stdout) == Array(0..<100), "hop = frame: no overlap, no padding")
    }

    @Test func tailKeepsExactlyTheLastSeconds() throws {
        let r = try CLI.run(["buffer", "--rate", "1000", "--tail", "0.5"], stdin: pcm16(0..<3001))
        #expect(r.status == 0, "\(r.err)")
        #expect(samples16(r.stdout) == Array(2501..<3001))
        let short = try CLI.run(["buffer", "--rate", "1000", "--tail", "5"], stdin: pcm16(0..<700))
        #expect(samples16(short.stdout) == Array(0..<700), "shorter input: all of it")
    }

    @Test func sigusr1DumpsTheTailWhileInputIsOpen() throws {
        let live = try LiveProcess(["buffer", "--rate", "1000", "--tail", "1"])
        defer { if live.process.isRunning { live.process.terminate() } }
        #expect(LiveProcess.wait(seconds: 20) { live.handlesUSR1() })
        live.stdin.fileHandleForWriting.write(pcm16(0..<2000))
        #expect(LiveProcess.wait(seconds: 20) { live.unreadInput() == 0 })
        usleep(500_000)  // let the reader file the bytes it just read (a loaded CI box is slow)
        kill(live.process.processIdentifier, SIGUSR1)
        let first = samples16(live.readOut(2000))
        #expect(first == Array(1000..<2000))
        #expect(live.process.isRunning, "a dump does not end the capture")
        live.stdin.fileHandleForWriting.write(pcm16(2000..<2500))
        try live.stdin.fileHandleForWriting.close()
        let final = samples16(live.readOut(10_000))
        live.process.waitUntilExit()
        #expect(live.process.terminationStatus == 0)
        #expect(final == Array(1500..<2500))
    }

    @Test func outRateResamplesToS16Mono() throws {
        // 2 channels of 8 kHz s16 for one second, resampled to 16 kHz mono: 16000 samples.
        let stereo = pcm16((0..<16000).map { $0 % 2 == 0 ? 1000 : 3000 })
        let r = try CLI.run(["buffer", "--rate", "8000", "--channels", "2", "--out-rate", "16000"], stdin: stereo)
        #expect(r.status == 0, "\(r.err)")
        let out = samples16(r.stdout)
        #expect(out.count == 16000)
        // Away from the edges the mono mix of 1000 and 3000 full-scale units is 2000.
        #expect(out[4000..<12000].allSatisfy { abs($0 - 2000) <= 2 })
        let bad = try CLI.run(["buffer", "--out-rate", "0"], stdin: stereo)
        #expect(bad.status == 64)
    }

    @Test func liveDeviceComesOutAsRawS16() throws {
        // ALSA's null device captures silence on any machine.
        let r = try CLI.run(["buffer", "--device", "null", "--rate", "16000", "--duration", "0.25", "--stats"])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.stdout == Data(count: 8000))
        #expect(r.err.contains("in 8000 bytes"))
    }

    @Test func statsGoToStandardError() throws {
        let r = try CLI.run(["buffer", "--stats"], stdin: pcm16(0..<1000))
        #expect(r.status == 0)
        #expect(r.stdout == pcm16(0..<1000))
        #expect(r.err.contains("overruns 0 bytes"))
        #expect(r.err.contains("underruns"))
        #expect(r.err.contains("peak fill"))
    }

    @Test func badInputsFailWithOneLine() throws {
        let policy = try CLI.run(["buffer", "--policy", "sometimes"], stdin: Data())
        #expect(policy.status == 64)
        #expect(policy.err.contains("sometimes"))
        let capacity = try CLI.run(["buffer", "--capacity-ms", "0"], stdin: Data())
        #expect(capacity.status == 1)
        #expect(capacity.err.contains("--capacity-ms 0"))
        let hop = try CLI.run(["buffer", "--frame-ms", "20", "--hop-ms", "30"], stdin: Data())
        #expect(hop.status == 64)
        #expect(hop.err.contains("--hop-ms 30"))
        let hopAlone = try CLI.run(["buffer", "--hop-ms", "10"], stdin: Data())
        #expect(hopAlone.status == 64)
        let odd = try CLI.run(["buffer"], stdin: Data([1, 2, 3]))
        #expect(odd.status == 1)
        #expect(odd.err.contains("stdin: 3 bytes is not a whole number of s16le sample frames"))
        #expect(odd.stdout == Data([1, 2, 3]), "pass-through still delivers every byte")
        let oddFramed = try CLI.run(["buffer", "--frame-ms", "10", "--tail", "1"], stdin: Data())
        #expect(oddFramed.status == 64)
        let missing = try CLI.run(["buffer", "/nonexistent/in.raw"])
        #expect(missing.status == 1)
        #expect(missing.err.contains("/nonexistent/in.raw"))
        let missingRaw = try CLI.run(["buffer", "--raw", "s16le", "/nonexistent/in.raw"])
        #expect(missingRaw.status == 1)
        #expect(missingRaw.err.contains("/nonexistent/in.raw"))
        let rate = try CLI.run(["buffer", "--rate", "0"], stdin: pcm16(0..<10))
        #expect(rate.status != 0 && rate.status < 128)
        #expect(rate.err.contains("0"))
        let badConfig = try CLI.run(["buffer"], stdin: Data(), environment: ["COPILOT_CONFIG": "/nonexistent.toml"])
        #expect(badConfig.status == 1)
    }

    @Test func closedStdoutExitsQuietly() throws {
        let script = "head -c 20000000 /dev/zero | '\(CLI.binary.path)' buffer | head -c 10 > /dev/null; echo ${PIPESTATUS[1]}"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", script]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(text.trimmingCharacters(in: .whitespacesAndNewlines) == "0")
    }

    /// With nobody reading stdout, drop-oldest still swallows all the input (it never waits),
    /// keeps what it delivers in order, and accounts for every byte it dropped.
    @Test func dropOldestNeverBlocksAndCountsOverruns() throws {
        let total = 2_000_000
        let live = try LiveProcess(["buffer", "--raw", "s32le", "--policy", "drop-oldest", "--capacity-ms", "100", "--stats"])
        defer { if live.process.isRunning { live.process.terminate() } }
        let input = pcm32(0..<total)
        let written = DispatchSemaphore(value: 0)
        let handle = live.stdin.fileHandleForWriting
        DispatchQueue.global().async {
            handle.write(input)
            try? handle.close()
            written.signal()
        }
        #expect(written.wait(timeout: .now() + 60) == .success, "the producer side never waited for stdout")
        let out = samples32(live.stdout.fileHandleForReading.readDataToEndOfFile())
        live.process.waitUntilExit()
        let err = String(decoding: live.stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(live.process.terminationStatus == 0, "\(err)")
        var increasing = true
        for i in out.indices.dropFirst() where out[i] <= out[i - 1] { increasing = false }
        #expect(increasing)
        #expect(out.last == total - 1, "the newest audio survives")
        let overruns = Int(err.split(separator: " ").drop { $0 != "overruns" }.dropFirst().first ?? "") ?? -1
        #expect(overruns > 0)
        #expect(out.count * 4 + overruns == total * 4, "\(err)")
    }
}
