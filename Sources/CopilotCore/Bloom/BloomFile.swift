#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// The on-disk layout of a filter file (all integers little-endian):
///
/// | offset | bytes | field |
/// |---|---|---|
/// | 0 | 8 | magic `CPBLOOM` + 0x1A |
/// | 8 | 4 | format version (1) |
/// | 12 | 4 | kind: split-block, 512-bit blocks, 1 = 8 bits per item, 2 = 16 bits per item |
/// | 16 | 4 | hash: 1 = wyhash final3, seed 0, default secret |
/// | 20 | 4 | header size (64) |
/// | 24 | 8 | block count |
/// | 32 | 8 | capacity the filter was sized for |
/// | 40 | 8 | target false-positive rate (IEEE 754 double) |
/// | 48 | 8 | item count (adds that were not already maybe-present) |
/// | 56 | 8 | checksum: wyhash of the blocks, seeded with the wyhash of bytes 0..<56 |
/// | 64 | 64 × blocks | the blocks, 8 little-endian 64-bit words each |
///
/// The blocks start 64-byte aligned in a page-aligned mapping, so a mapped file is used in place.
package enum BloomFileFormat {
    /// The first 8 bytes of every filter file.
    package static let magic: [UInt8] = Array("CPBLOOM".utf8) + [0x1A]
    /// The format version this build reads and writes.
    package static let version: UInt32 = 1
    /// Layout id of split-block filters setting 8 bits per item.
    package static let splitBlock8Kind: UInt32 = 1
    /// Layout id of split-block filters setting 16 bits per item.
    package static let splitBlock16Kind: UInt32 = 2
    /// wyhash final3 id.
    package static let wyhashID: UInt32 = 1
    /// Header size in bytes.
    package static let headerBytes = 64

    /// The header fields.
    struct Header: Equatable {
        var layout: SplitBlockLayout
        var capacity: Int
        var falsePositiveRate: Double
        var itemCount: Int
        var checksum: UInt64
    }

    static func encode(_ h: Header) -> [UInt8] {
        var out = magic
        func put32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        func put64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        put32(version); put32(h.layout.bitsPerItem == 16 ? splitBlock16Kind : splitBlock8Kind)
        put32(wyhashID); put32(UInt32(headerBytes))
        put64(UInt64(h.layout.blockCount)); put64(UInt64(h.capacity)); put64(h.falsePositiveRate.bitPattern)
        put64(UInt64(h.itemCount)); put64(h.checksum)
        return out
    }

    /// The checksum of a header prefix (bytes 0..<56) and blocks.
    static func checksum(headerPrefix: UnsafeRawBufferPointer, blocks: UnsafeRawBufferPointer) -> UInt64 {
        WyHash.hash(blocks, seed: WyHash.hash(UnsafeRawBufferPointer(rebasing: headerPrefix[0..<56])))
    }

    /// Parses and checks a header read from `path` whose size is `fileBytes`.
    static func decode(_ b: UnsafeRawBufferPointer, path: String, fileBytes: Int) throws(BloomError) -> Header {
        guard b.count >= 8, Array(b[0..<8]) == magic else { throw .notAFilter(path: path) }
        guard b.count >= headerBytes else {
            throw .truncated(path: path, expectedBytes: headerBytes, actualBytes: fileBytes)
        }
        func u32(_ o: Int) -> UInt32 { UInt32(littleEndian: b.loadUnaligned(fromByteOffset: o, as: UInt32.self)) }
        func u64(_ o: Int) -> UInt64 { UInt64(littleEndian: b.loadUnaligned(fromByteOffset: o, as: UInt64.self)) }
        let v = u32(8)
        guard v == version else { throw .unsupportedVersion(path: path, version: v) }
        let kind = u32(12)
        guard kind == splitBlock8Kind || kind == splitBlock16Kind else {
            throw .unsupportedLayout(path: path, what: "filter kind \(kind)")
        }
        guard u32(16) == wyhashID else { throw .unsupportedLayout(path: path, what: "hash function \(u32(16))") }
        guard u32(20) == UInt32(headerBytes) else { throw .corrupt(path: path, reason: "header size \(u32(20))") }
        let blocks = u64(24)
        guard blocks >= 1, blocks <= UInt64(SplitBlockSizing.maximumBytes / 64) else {
            throw .corrupt(path: path, reason: "block count \(blocks)")
        }
        let expected = headerBytes + Int(blocks) * 64
        guard fileBytes == expected else {
            throw .truncated(path: path, expectedBytes: expected, actualBytes: fileBytes)
        }
        let rate = Double(bitPattern: u64(40))
        guard rate > 0, rate < 1, u64(32) <= UInt64(Int.max), u64(48) <= UInt64(Int.max) else {
            throw .corrupt(path: path, reason: "header fields out of range")
        }
        let layout = SplitBlockLayout(blockCount: Int(blocks), bitsPerItem: kind == splitBlock16Kind ? 16 : 8)
        return Header(layout: layout, capacity: Int(u64(32)), falsePositiveRate: rate,
                      itemCount: Int(u64(48)), checksum: u64(56))
    }
}

/// Reading, atomic writing and locking of filter files.
///
/// Reads memory-map the file privately (copy-on-write): nothing is read up front beyond the
/// checksum pass, and changes never reach the file. Writes go through ``StagedFile`` (a
/// temporary file, fsync, rename, directory fsync), so a crash leaves either the old or the
/// new filter, never a mix. Writers hold an exclusive `flock` on
/// the target for the whole read-modify-write; a second writer is refused at once.
public enum BloomFile {
    /// Opens a filter file for lookups (and in-memory changes), verifying its checksum. O(size).
    public static func open(_ path: String) throws -> SplitBlockBloomFilter {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw openError(path) }
        defer { close(fd) }
        return try load(fd: fd, path: path)
    }

    /// Writes `filter` to `path` atomically. With `replace` false an existing file is not
    /// replaced (`link(2)` refuses it, with no race between check and write).
    public static func save(_ filter: SplitBlockBloomFilter, to path: String, replace: Bool = true) throws {
        try write(filter, to: path, replace: replace, failingAfterBytes: nil)
    }

    /// Creates an empty filter file; refuses to replace an existing one unless `force`
    /// (then under the writer lock).
    @discardableResult
    public static func create(_ path: String, capacity: Int, falsePositiveRate: Double, force: Bool) throws -> SplitBlockBloomFilter {
        let filter = try SplitBlockBloomFilter(capacity: capacity, falsePositiveRate: falsePositiveRate)
        if force, FileManager.default.fileExists(atPath: path) {
            let lock = try BloomFileLock(path: path)
            defer { lock.release() }
            try save(filter, to: path, replace: true)
        } else {
            try save(filter, to: path, replace: false)
        }
        return filter
    }

    /// Read-modify-write under the writer lock: opens `path`, lets `body` change the filter and
    /// writes it back atomically. Nothing is written when `body` throws.
    @discardableResult
    public static func update<R>(_ path: String, _ body: (SplitBlockBloomFilter) throws -> R) throws -> R {
        let lock = try BloomFileLock(path: path)
        defer { lock.release() }
        let filter = try load(fd: lock.fd, path: path)
        let result = try body(filter)
        try save(filter, to: path, replace: true)
        return result
    }

    /// Opens `path` under the writer lock when it exists, else creates a new filter in memory;
    /// `body` changes it and it is written atomically (nothing written when `body` throws).
    @discardableResult
    public static func updateOrCreate<R>(
        _ path: String, capacity: Int, falsePositiveRate: Double, _ body: (SplitBlockBloomFilter) throws -> R
    ) throws -> R {
        if FileManager.default.fileExists(atPath: path) { return try update(path, body) }
        let filter = try SplitBlockBloomFilter(capacity: capacity, falsePositiveRate: falsePositiveRate)
        let result = try body(filter)
        try save(filter, to: path, replace: false)
        return result
    }

    static func load(fd: Int32, path: String) throws -> SplitBlockBloomFilter {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw systemError(path, "stat") }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw BloomError.notAFilter(path: path) }
        let size = Int(st.st_size)
        var header = [UInt8](repeating: 0, count: BloomFileFormat.headerBytes)
        let got = header.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard got >= 0 else { throw systemError(path, "read") }
        let h = try header.withUnsafeBytes { b in
            try BloomFileFormat.decode(UnsafeRawBufferPointer(rebasing: b[0..<got]), path: path, fileBytes: size)
        }
        let memory = try BloomMemory(fileDescriptor: fd, fileBytes: size, offset: BloomFileFormat.headerBytes,
                                     byteCount: h.layout.blockCount * 64, path: path)
        let sum = BloomFileFormat.checksum(headerPrefix: memory.mappedBytes, blocks: memory.bytes)
        guard sum == h.checksum else { throw BloomError.corrupt(path: path, reason: "checksum mismatch") }
        return SplitBlockBloomFilter(memory: memory, layout: h.layout, capacity: h.capacity,
                                     falsePositiveRate: h.falsePositiveRate, itemCount: h.itemCount)
    }

    /// The atomic write; `failingAfterBytes` simulates a crash of the writer (tests).
    package static func write(_ filter: SplitBlockBloomFilter, to path: String, replace: Bool, failingAfterBytes: Int?) throws {
        var header = BloomFileFormat.encode(.init(
            layout: filter.layout, capacity: filter.capacity, falsePositiveRate: filter.targetFalsePositiveRate,
            itemCount: filter.itemCount, checksum: 0))
        let sum = header.withUnsafeBytes { BloomFileFormat.checksum(headerPrefix: $0, blocks: filter.bits) }
        withUnsafeBytes(of: sum.littleEndian) { header.replaceSubrange(56..<64, with: $0) }
        // Renaming over a device or FIFO would replace the node itself (`create --force /dev/null`).
        let staged = StagedFile(path)
        guard !staged.inPlace else {
            throw BloomError.system(path: path, operation: "writing the filter", reason: "it is a device or pipe, not a regular file; give a regular file path")
        }

        do {
            try staged.write { fd in
                var budget = failingAfterBytes ?? Int.max
                try header.withUnsafeBytes { b in try writeAll(fd, b, path: staged.stagingPath, budget: &budget) }
                try writeAll(fd, filter.bits, path: staged.stagingPath, budget: &budget)
            }
            try staged.publish(createOnly: !replace)
        } catch let failure as StagedFile.Failure {
            if failure.code == EEXIST && !replace { throw BloomError.fileExists(path: path) }
            throw BloomError.system(path: failure.path, operation: failure.operation, reason: failure.reason)
        }
    }

    private static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String, budget: inout Int) throws {
        guard var p = bytes.baseAddress else { return }
        var left = bytes.count
        while left > 0 {
            let chunk = min(left, 1 << 24)
            if budget < chunk {
                throw BloomError.system(path: path, operation: "write", reason: "simulated failure")
            }
            let n = Glibc.write(fd, p, chunk)
            if n < 0 {
                if errno == EINTR { continue }
                throw systemError(path, "write")
            }
            budget -= n
            p += n
            left -= n
        }
    }

    static func openError(_ path: String) -> BloomError {
        errno == ENOENT ? .fileNotFound(path: path) : systemError(path, "open")
    }

    static func systemError(_ path: String, _ operation: String) -> BloomError {
        .system(path: path, operation: operation, reason: String(cString: strerror(errno)))
    }
}

/// An exclusive advisory lock (`flock`) held by a filter's writer.
///
/// After locking, the lock checks that the path still names the locked file: a writer that
/// renamed a new file into place meanwhile leaves the old inode locked, so the lock is taken
/// again on the new one.
package final class BloomFileLock {
    /// The locked file, open read-only.
    let fd: Int32
    private var held = true

    /// Locks `path`, or throws ``BloomError/locked(path:holder:)`` at once when another
    /// process (or another open of the file) holds it.
    package init(path: String) throws(BloomError) {
        while true {
            let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw BloomFile.openError(path) }
            if flock(fd, LOCK_EX | LOCK_NB) != 0 {
                let e = errno
                var st = stat()
                let inode = fstat(fd, &st) == 0 ? UInt64(st.st_ino) : nil
                close(fd)
                if e == EWOULDBLOCK { throw .locked(path: path, holder: inode.flatMap(Self.lockHolder)) }
                errno = e
                throw BloomFile.systemError(path, "flock")
            }
            var locked = stat(), current = stat()
            if fstat(fd, &locked) == 0, stat(path, &current) == 0,
               locked.st_ino == current.st_ino, locked.st_dev == current.st_dev {
                self.fd = fd
                return
            }
            close(fd)
        }
    }

    /// Releases the lock (also done on deinit).
    package func release() {
        guard held else { return }
        held = false
        flock(fd, LOCK_UN)
        close(fd)
    }

    deinit { release() }

    /// The pid holding a `flock` on `inode`, from /proc/locks (Linux), when it can be told.
    static func lockHolder(inode: UInt64) -> Int32? {
        guard let text = try? String(contentsOfFile: "/proc/locks", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            // "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF"; waiters have "->" after the id.
            guard fields.count >= 6, fields[1] == "FLOCK" else { continue }
            let id = fields[5].split(separator: ":")
            if id.count == 3, UInt64(id[2]) == inode, let pid = Int32(fields[4]), pid > 0 { return pid }
        }
        return nil
    }
}
