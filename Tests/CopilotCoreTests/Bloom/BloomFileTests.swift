@testable import CopilotCore
import Foundation
import Testing

@Suite final class BloomFileTests {
    let dir: URL

    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("copilot-bloom-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: dir) }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    func filled(_ n: Int = 1000) throws -> SplitBlockBloomFilter {
        let f = try SplitBlockBloomFilter(capacity: 2000, falsePositiveRate: 0.01)
        BloomTestKeys.forEach("ins:", 0..<n) { f.insert($0) }
        return f
    }

    func bytes(_ p: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: p))) }
    func write(_ b: [UInt8], _ p: String) throws { try Data(b).write(to: URL(fileURLWithPath: p)) }
    func leftovers() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains(".tmp-") }
    }

    @Test(arguments: [0.01, 1e-7])
    func roundTrip(rate: Double) throws {
        let f = try SplitBlockBloomFilter(capacity: 2000, falsePositiveRate: rate)
        BloomTestKeys.forEach("ins:", 0..<1000) { f.insert($0) }
        try BloomFile.save(f, to: path("a.bloom"))
        let g = try BloomFile.open(path("a.bloom"))
        #expect(Array(g.bits) == Array(f.bits))
        #expect(g.layout == f.layout && g.capacity == 2000 && g.targetFalsePositiveRate == rate)
        #expect(g.itemCount == f.itemCount)
        var missing = 0
        BloomTestKeys.forEach("ins:", 0..<1000) { if !g.contains($0) { missing += 1 } }
        #expect(missing == 0)
        #expect(try bytes(path("a.bloom")).count == 64 + f.byteCount)
        #expect(try leftovers().isEmpty)
        // Changes to an opened filter stay in memory until saved.
        g.insert("only in memory")
        #expect(!(try BloomFile.open(path("a.bloom")).contains("only in memory")))
    }

    @Test func updateAddsAndCreateRefusesToReplace() throws {
        try BloomFile.create(path("u.bloom"), capacity: 100, falsePositiveRate: 0.01, force: false)
        #expect(throws: BloomError.fileExists(path: path("u.bloom"))) {
            try BloomFile.create(path("u.bloom"), capacity: 100, falsePositiveRate: 0.01, force: false)
        }
        chmod(path("u.bloom"), 0o600)
        try BloomFile.update(path("u.bloom")) { $0.insert("x") }
        #expect(try BloomFile.open(path("u.bloom")).contains("x"))
        var st = stat()
        #expect(stat(path("u.bloom"), &st) == 0 && st.st_mode & 0o777 == 0o600)
        try BloomFile.create(path("u.bloom"), capacity: 100, falsePositiveRate: 0.01, force: true)
        #expect(!(try BloomFile.open(path("u.bloom")).contains("x")))
    }

    @Test func damagedFilesAreRefusedWithTheirName() throws {
        let good = path("good.bloom")
        try BloomFile.save(try filled(), to: good)
        let original = try bytes(good)

        try write(Array(original.prefix(original.count - 1)), path("short.bloom"))
        #expect(throws: BloomError.truncated(path: path("short.bloom"), expectedBytes: original.count, actualBytes: original.count - 1)) {
            try BloomFile.open(path("short.bloom"))
        }
        try write(Array(original.prefix(30)), path("tiny.bloom"))
        #expect(throws: BloomError.self) { try BloomFile.open(path("tiny.bloom")) }
        try write(original + [0], path("long.bloom"))
        #expect(throws: BloomError.self) { try BloomFile.open(path("long.bloom")) }

        var flipped = original
        flipped[64 + 100] ^= 0x10
        try write(flipped, path("flip.bloom"))
        #expect(throws: BloomError.corrupt(path: path("flip.bloom"), reason: "checksum mismatch")) { try BloomFile.open(path("flip.bloom")) }

        var count = original
        count[48] ^= 1  // item count is covered by the checksum too
        try write(count, path("count.bloom"))
        #expect(throws: BloomError.corrupt(path: path("count.bloom"), reason: "checksum mismatch")) { try BloomFile.open(path("count.bloom")) }

        var version = original
        version[8] = 2
        try write(version, path("v2.bloom"))
        #expect(throws: BloomError.unsupportedVersion(path: path("v2.bloom"), version: 2)) { try BloomFile.open(path("v2.bloom")) }

        try write(Array("just some text\n".utf8), path("text.txt"))
        #expect(throws: BloomError.notAFilter(path: path("text.txt"))) { try BloomFile.open(path("text.txt")) }
        try write([], path("empty.bloom"))
        #expect(throws: BloomError.notAFilter(path: path("empty.bloom"))) { try BloomFile.open(path("empty.bloom")) }
        #expect(throws: BloomError.notAFilter(path: dir.path)) { try BloomFile.open(dir.path) }
        #expect(throws: BloomError.fileNotFound(path: path("none.bloom"))) { try BloomFile.open(path("none.bloom")) }

        let message = BloomError.corrupt(path: "x.bloom", reason: "checksum mismatch").localizedDescription
        #expect(message.contains("x.bloom") && message.contains("recreate"))
    }

    @Test func garbageAfterAValidPrefixNeverCrashes() throws {
        let good = path("g.bloom")
        try BloomFile.save(try filled(50), to: good)
        let original = try bytes(good)
        var state: UInt64 = 7
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 33
        }
        // Keep the first `keep` bytes, overwrite one random byte after them: every header field
        // and the bits get hit; each file must be refused (or, if only a bit flipped back, load).
        for keep in stride(from: 8, to: original.count, by: 29) {
            var damaged = original
            let at = keep + Int(next() % UInt64(original.count - keep))
            damaged[at] ^= UInt8(truncatingIfNeeded: next() | 1)
            try write(damaged, path("x.bloom"))
            #expect(throws: BloomError.self) { try BloomFile.open(path("x.bloom")) }
        }
    }

    @Test func failedWriteLeavesTheOriginalIntact() throws {
        let target = path("keep.bloom")
        try BloomFile.save(try filled(100), to: target)
        let before = try bytes(target)
        let bigger = try filled(1500)
        for failAfter in [0, 10, 64, 500] {
            #expect(throws: BloomError.self) {
                try BloomFile.write(bigger, to: target, replace: true, failingAfterBytes: failAfter)
            }
            #expect(try bytes(target) == before)
            #expect(try leftovers().isEmpty)
        }
        // An update whose body throws writes nothing.
        struct Stop: Error {}
        #expect(throws: Stop.self) { try BloomFile.update(target) { f in f.insert("new"); throw Stop() } }
        #expect(try bytes(target) == before)
        _ = try BloomFile.open(target)
    }

    @Test func secondWriterIsRefused() throws {
        let target = path("locked.bloom")
        try BloomFile.create(target, capacity: 100, falsePositiveRate: 0.01, force: false)
        let lock = try BloomFileLock(path: target)
        do {
            try BloomFile.update(target) { $0.insert("x") }
            Issue.record("second writer was let in")
        } catch let error as BloomError {
            guard case .locked(let p, let holder) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(p == target)
            #expect(holder == nil || holder == getpid())
            #expect(error.localizedDescription.contains("is being written by another process"))
        }
        #expect(throws: BloomError.self) { try BloomFile.create(target, capacity: 10, falsePositiveRate: 0.1, force: true) }
        lock.release()
        try BloomFile.update(target) { $0.insert("x") }
        #expect(try BloomFile.open(target).contains("x"))
    }

    @Test func mergeUnionsCompatibleFiles() throws {
        let a = try SplitBlockBloomFilter(capacity: 500, falsePositiveRate: 0.01)
        let b = try SplitBlockBloomFilter(capacity: 500, falsePositiveRate: 0.01)
        a.insert("left")
        b.insert("right")
        try BloomFile.save(a, to: path("a.bloom"))
        try BloomFile.save(b, to: path("b.bloom"))
        try BloomFile.merge(output: path("a.bloom"), inputs: [path("a.bloom"), path("b.bloom")], intersect: false)
        let m = try BloomFile.open(path("a.bloom"))
        #expect(m.contains("left") && m.contains("right"))
        try BloomFile.save(try SplitBlockBloomFilter(capacity: 900, falsePositiveRate: 0.01), to: path("c.bloom"))
        #expect(throws: BloomError.self) {
            try BloomFile.merge(output: path("d.bloom"), inputs: [path("a.bloom"), path("c.bloom")], intersect: false)
        }
        #expect(!FileManager.default.fileExists(atPath: path("d.bloom")))
    }

    @Test func configurationFileMatchesBuiltInDefaults() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let config = try Configuration(contentsOf: root.appendingPathComponent("config/copilot.toml").path)
        #expect(try BloomSettings(configuration: config) == BloomSettings.defaults)
        #expect(try BloomSettings(configuration: .defaults) == BloomSettings.defaults)
        let bad = try Configuration(text: "[bloom]\nfp_rate = 1.5\n", path: "c.toml")
        #expect(throws: ConfigurationError.self) { try BloomSettings(configuration: bad) }
    }
}

@Suite struct LineReaderTests {
    func run(_ input: [UInt8], maxLine: Int = 16, buffer: Int = 40) throws -> [[UInt8]] {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        let writeEnd = fds[1]
        let writer = Thread {
            input.withUnsafeBytes { _ = try? FileDescriptorOutput.writeAll(fd: writeEnd, name: "pipe", $0) }
            close(writeEnd)
        }
        writer.start()
        defer { close(fds[0]) }
        var lines: [[UInt8]] = []
        try LineReader(fd: fds[0], name: "test", maxLineBytes: maxLine, bufferBytes: buffer).forEachBlock { block, _ in
            LineReader.forEachLine(in: block) { lines.append(Array($0)) }
        }
        return lines
    }

    @Test func splitsBytesOnNewlinesAtEveryBufferBoundary() throws {
        var input: [UInt8] = []
        var expected: [[UInt8]] = []
        for i in 0..<200 {
            let line = [UInt8]((0..<(i % 17)).map { UInt8(truncatingIfNeeded: $0 * 37 + i) }).filter { $0 != 0x0A }
            expected.append(line)
            input += line + [0x0A]
        }
        #expect(try run(input) == expected)
        #expect(try run(input + [0x41, 0x42]) == expected + [[0x41, 0x42]])
        #expect(try run([]) == [])
        #expect(try run([0x0A, 0x0A]) == [[], []])
    }

    @Test func overlongLineIsRefusedWithItsNumber() throws {
        let input = Array("ok\nfine\n".utf8) + [UInt8](repeating: 0x61, count: 100) + [0x0A]
        #expect(throws: BloomError.lineTooLong(source: "test", line: 3, limitBytes: 16)) { try run(input) }
        #expect(throws: BloomError.self) { try run([UInt8](repeating: 0x61, count: 100)) }
        #expect(try run([UInt8](repeating: 0x61, count: 16) + [0x0A]).count == 1)
    }
}
