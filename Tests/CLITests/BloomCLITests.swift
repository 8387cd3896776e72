import CopilotCore
import Foundation
import Testing

@Suite final class BloomCLITests {
    let dir: URL
    init() throws { dir = try CLI.temporaryDirectory() }
    deinit { try? FileManager.default.removeItem(at: dir) }
    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    @Test func createAddCheckExitCodes() throws {
        let f = path("seen.bloom")
        #expect(try CLI.run(["bloom", "create", f, "--capacity", "1000", "--fp-rate", "0.01"]).status == 0)
        #expect(try CLI.run(["bloom", "add", f, "alice", "bob"]).status == 0)
        let stdinAdd = try CLI.run(["bloom", "add", f], stdin: Data("carol\n\ndave".utf8))
        #expect(stdinAdd.status == 0)

        let hit = try CLI.run(["bloom", "check", f, "alice"])
        #expect(hit.status == 0 && hit.out == "alice\n")
        let miss = try CLI.run(["bloom", "check", f, "zed"])
        #expect(miss.status == 1 && miss.out.isEmpty)
        let absent = try CLI.run(["bloom", "check", f, "zed", "--absent"])
        #expect(absent.status == 1 && absent.out == "zed\n")

        let many = try CLI.run(["bloom", "check", f], stdin: Data("alice\nxx\ndave\n\nyy\n".utf8))
        #expect(many.status == 0 && many.out == "alice\ndave\n\n")
        let manyAbsent = try CLI.run(["bloom", "check", f, "--absent"], stdin: Data("alice\nxx\ndave\nyy\n".utf8))
        #expect(manyAbsent.out == "xx\nyy\n")
        let none = try CLI.run(["bloom", "check", f], stdin: Data("xx\nyy\n".utf8))
        #expect(none.status == 1 && none.out.isEmpty)
    }

    @Test func checkErrorsExitTwo() throws {
        let missing = try CLI.run(["bloom", "check", path("none.bloom"), "x"])
        #expect(missing.status == 2 && missing.err.contains("none.bloom"))
        try Data("not a filter\n".utf8).write(to: URL(fileURLWithPath: path("text.bloom")))
        let foreign = try CLI.run(["bloom", "check", path("text.bloom"), "x"])
        #expect(foreign.status == 2 && foreign.err.contains("not a copilot Bloom filter"))
    }

    @Test func badSizesAreRefused() throws {
        for args in [["--capacity", "0"], ["--capacity", "-3"], ["--capacity", "10", "--fp-rate", "0"],
                     ["--capacity", "10", "--fp-rate", "1"], ["--capacity", "10", "--fp-rate", "nan"],
                     ["--capacity", "9000000000000000000"]] {
            let r = try CLI.run(["bloom", "create", path("bad.bloom")] + args)
            #expect(r.status != 0 && r.status < 128 && r.err.contains("Error"), "\(args)")
            #expect(!FileManager.default.fileExists(atPath: path("bad.bloom")))
        }
        let noCapacity = try CLI.run(["bloom", "create", path("bad.bloom")])
        #expect(noCapacity.status == 64 && noCapacity.err.contains("--capacity"))
    }

    @Test func createRefusesToOverwriteWithoutForce() throws {
        let f = path("x.bloom")
        #expect(try CLI.run(["bloom", "create", f, "--capacity", "10"]).status == 0)
        #expect(try CLI.run(["bloom", "add", f, "kept"]).status == 0)
        let again = try CLI.run(["bloom", "create", f, "--capacity", "10"])
        #expect(again.status == 1 && again.err.contains("--force"))
        #expect(try CLI.run(["bloom", "check", f, "kept"]).status == 0)
        #expect(try CLI.run(["bloom", "create", f, "--capacity", "10", "--force"]).status == 0)
        #expect(try CLI.run(["bloom", "check", f, "kept"]).status == 1)
    }

    @Test func dedupPassesFirstOccurrencesOfBinaryLines() throws {
        var input = Data()
        let lines: [[UInt8]] = [[0x61], [0xff, 0xfe, 0x00], [], [0x61], [0xc3, 0x28], [], [0xff, 0xfe, 0x00], [0x62, 0x0d], [0x62]]
        for l in lines { input.append(contentsOf: l + [0x0a]) }
        input.append(contentsOf: [0x7a])  // last line without newline
        let r = try CLI.run(["bloom", "dedup", "--stats"], stdin: input)
        #expect(r.status == 0)
        var expected = Data()
        for l in [[0x61], [0xff, 0xfe, 0x00], [], [0xc3, 0x28], [0x62, 0x0d], [0x62]] as [[UInt8]] {
            expected.append(contentsOf: l + [0x0a])
        }
        expected.append(0x7a)
        #expect(r.stdout == expected)
        #expect(r.err.contains("10 lines read, 7 passed"))
    }

    @Test func dedupManyLinesMatchesAnExactSet() throws {
        var input = Data()
        var expected = Data()
        var seen = Set<Int>()
        var state: UInt64 = 42  // SplitMix64: the same lines on every run
        for _ in 0..<50_000 {
            state &+= 0x9e37_79b9_7f4a_7c15
            var z = state
            z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
            z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
            let v = Int((z ^ (z >> 31)) % 20_000)
            let line = Data("line-\(v)\n".utf8)
            input.append(line)
            if seen.insert(v).inserted { expected.append(line) }
        }
        let r = try CLI.run(["bloom", "dedup", "--capacity", "100000"], stdin: input)
        #expect(r.status == 0)
        #expect(r.stdout == expected)
    }

    @Test func dedupStreamsLinesAsTheyArrive() throws {
        let process = Process()
        process.executableURL = CLI.binary
        process.arguments = ["bloom", "dedup", "--capacity", "1000"]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer {
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
        }
        try input.fileHandleForWriting.write(contentsOf: Data("first\nfirst\n".utf8))
        // The first line must come out while stdin is still open (wait at most 20 s).
        var fds = [pollfd(fd: output.fileHandleForReading.fileDescriptor, events: Int16(POLLIN), revents: 0)]
        #expect(poll(&fds, 1, 20_000) == 1, "no output while the input stays open")
        if fds[0].revents & Int16(POLLIN) != 0 {
            #expect(String(decoding: output.fileHandleForReading.availableData, as: UTF8.self) == "first\n")
        }
        try input.fileHandleForWriting.write(contentsOf: Data("second\n".utf8))
        try input.fileHandleForWriting.close()
        let rest = output.fileHandleForReading.readDataToEndOfFile()
        #expect(String(decoding: rest, as: UTF8.self) == "second\n")
    }

    @Test func aSmallRegularFileOnStdinGetsASmallFilter() throws {
        let input = path("four.txt"), filter = path("four.bloom")
        try Data("a\nb\na\nc\n".utf8).write(to: URL(fileURLWithPath: input))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "\"$0\" bloom dedup \"$1\" < \"$2\" > /dev/null", CLI.binary.path, filter, input]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let bytes = try FileManager.default.attributesOfItem(atPath: filter)[.size] as? Int ?? 0
        #expect(bytes > 0 && bytes < 64 << 10, "sized for the input's 8 bytes (at least 1024 lines), not 10M lines: \(bytes) bytes")
    }

    @Test func dedupWithFileRemembersAcrossRuns() throws {
        let f = path("dedup.bloom")
        let first = try CLI.run(["bloom", "dedup", f, "--capacity", "1000"], stdin: Data("a\nb\na\n".utf8))
        #expect(first.status == 0 && first.out == "a\nb\n")
        let second = try CLI.run(["bloom", "dedup", f], stdin: Data("b\nc\n".utf8))
        #expect(second.status == 0 && second.out == "c\n")
        #expect(try CLI.run(["bloom", "check", f, "c"]).status == 0)
    }

    @Test func overlongLineIsAnErrorAndLeavesTheFileAlone() throws {
        let f = path("long.bloom")
        #expect(try CLI.run(["bloom", "create", f, "--capacity", "100"]).status == 0)
        let before = try Data(contentsOf: URL(fileURLWithPath: f))
        var input = Data("short\n".utf8)
        input.append(Data(repeating: 0x41, count: (1 << 20) + 10))
        input.append(Data("\nafter\n".utf8))
        let add = try CLI.run(["bloom", "add", f], stdin: input)
        #expect(add.status == 1 && add.err.contains("line 2") && add.err.contains("1048576"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: f)) == before)
        let dedup = try CLI.run(["bloom", "dedup"], stdin: input)
        #expect(dedup.status == 1 && dedup.err.contains("longer than"))
    }

    @Test func infoTextAndJSON() throws {
        let f = path("info.bloom")
        #expect(try CLI.run(["bloom", "create", f, "--capacity", "1000", "--fp-rate", "0.001"]).status == 0)
        #expect(try CLI.run(["bloom", "add", f, "a", "b", "c"]).status == 0)
        let text = try CLI.run(["bloom", "info", f])
        #expect(text.status == 0 && text.out.contains("estimated count") && text.out.contains("fill ratio"))
        let json = try CLI.run(["bloom", "info", f, "--json"])
        let object = try JSONSerialization.jsonObject(with: json.stdout) as? [String: Any]
        #expect(object?["capacity"] as? Int == 1000)
        #expect(object?["target_fp_rate"] as? Double == 0.001)
        #expect(object?["item_count"] as? Int == 3)
        #expect(object?["estimated_count"] as? Double == 3)
        #expect((object?["current_fp_rate"] as? Double ?? 1) < 1e-9)
        #expect((object?["fill_ratio"] as? Double ?? 0) > 0)
    }

    @Test func damagedFilesAreRefusedByEverySubcommand() throws {
        let f = path("d.bloom")
        #expect(try CLI.run(["bloom", "create", f, "--capacity", "100"]).status == 0)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: f))
        bytes[70] ^= 0xff
        try bytes.write(to: URL(fileURLWithPath: f))
        for args in [["info", f], ["add", f, "x"], ["merge", path("o.bloom"), f]] {
            let r = try CLI.run(["bloom"] + args)
            #expect(r.status == 1 && r.err.contains("d.bloom is corrupt"), "\(args)")
        }
        try Data(bytes.prefix(80)).write(to: URL(fileURLWithPath: f))
        #expect(try CLI.run(["bloom", "info", f]).err.contains("truncated"))
        bytes[8] = 9
        try bytes.write(to: URL(fileURLWithPath: f))
        #expect(try CLI.run(["bloom", "info", f]).err.contains("version 9"))
    }

    @Test func mergeUnionsAndRefusesIncompatibleInputs() throws {
        let a = path("a.bloom"), b = path("b.bloom"), c = path("c.bloom"), out = path("out.bloom")
        for p in [a, b] { #expect(try CLI.run(["bloom", "create", p, "--capacity", "500"]).status == 0) }
        #expect(try CLI.run(["bloom", "create", c, "--capacity", "5000"]).status == 0)
        #expect(try CLI.run(["bloom", "add", a, "left"]).status == 0)
        #expect(try CLI.run(["bloom", "add", b, "right"]).status == 0)
        #expect(try CLI.run(["bloom", "merge", out, a, b]).status == 0)
        #expect(try CLI.run(["bloom", "check", out, "left"]).status == 0)
        #expect(try CLI.run(["bloom", "check", out, "right"]).status == 0)
        #expect(try CLI.run(["bloom", "add", b, "left"]).status == 0)
        #expect(try CLI.run(["bloom", "merge", path("both.bloom"), a, b, "--intersect"]).status == 0)
        #expect(try CLI.run(["bloom", "check", path("both.bloom"), "left"]).status == 0)
        #expect(try CLI.run(["bloom", "check", path("both.bloom"), "right"]).status == 1)
        let bad = try CLI.run(["bloom", "merge", path("bad.bloom"), a, c])
        #expect(bad.status == 1 && bad.err.contains("incompatible"))
        #expect(try CLI.run(["bloom", "merge", out]).status == 64)
    }

    @Test func secondWriterGetsAClearError() throws {
        let f = path("busy.bloom")
        #expect(try CLI.run(["bloom", "create", f, "--capacity", "100"]).status == 0)
        let lock = try BloomFileLock(path: f)
        let r = try CLI.run(["bloom", "add", f, "x"])
        #expect(r.status == 1)
        #expect(r.err.contains("is being written by another process"))
        #expect(r.err.contains("pid \(getpid())") || !r.err.contains("pid"))
        // Readers are not blocked by a writer.
        #expect(try CLI.run(["bloom", "check", f, "x"]).status == 1)
        lock.release()
        #expect(try CLI.run(["bloom", "add", f, "x"]).status == 0)
    }
}
