#if canImport(Glibc)
import Glibc
#endif

/// Reads newline-separated byte lines from a file descriptor with large `read(2)` calls.
///
/// Lines are raw bytes (no UTF-8 check, `\r` kept); the `\n` separates lines and is not part of
/// the item. A last line without `\n` is still a line. Lines longer than `maxLineBytes` are
/// refused with ``BloomError/lineTooLong(source:line:limitBytes:)`` rather than buffered without
/// bound.
package struct LineReader {
    /// Longest accepted line: 1 MiB.
    package static let defaultMaxLineBytes = 1 << 20

    private let fd: Int32
    private let name: String
    private let maxLineBytes: Int
    private let bufferBytes: Int

    /// Reads `fd`; `name` (e.g. "stdin") appears in error messages.
    package init(fd: Int32, name: String, maxLineBytes: Int = LineReader.defaultMaxLineBytes, bufferBytes: Int = 1 << 22) {
        self.fd = fd
        self.name = name
        self.maxLineBytes = maxLineBytes
        self.bufferBytes = max(bufferBytes, maxLineBytes * 2 + 2)
    }

    /// Calls `body` with blocks of whole lines: every line in a block ends with `\n`, except the
    /// input's last line when it has none (then `body`'s second argument is true). The block's
    /// memory is valid only during the call.
    package func forEachBlock(_ body: (UnsafeRawBufferPointer, _ unterminatedLast: Bool) throws -> Void) throws {
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: bufferBytes, alignment: 64)
        defer { buffer.deallocate() }
        var filled = 0
        var linesBefore = 0
        while true {
            let n = read(fd, buffer + filled, bufferBytes - filled)
            if n < 0 {
                if errno == EINTR { continue }
                throw BloomError.system(path: name, operation: "read", reason: String(cString: strerror(errno)))
            }
            if n == 0 {
                if filled > 0 { try body(UnsafeRawBufferPointer(start: buffer, count: filled), true) }
                return
            }
            let scanFrom = filled
            filled += n
            // The block ends after the last newline of the buffer.
            var end = filled
            while end > scanFrom, buffer.load(fromByteOffset: end - 1, as: UInt8.self) != 0x0A { end -= 1 }
            if end == scanFrom {
                // No newline in the new bytes: the pending line only grew.
                if filled > maxLineBytes { throw BloomError.lineTooLong(source: name, line: linesBefore + 1, limitBytes: maxLineBytes) }
                if filled == bufferBytes { throw BloomError.lineTooLong(source: name, line: linesBefore + 1, limitBytes: maxLineBytes) }
                continue
            }
            let block = UnsafeRawBufferPointer(start: buffer, count: end)
            try Self.checkLineLengths(block, limit: maxLineBytes, source: name, linesBefore: &linesBefore)
            try body(block, false)
            let rest = filled - end
            if rest > maxLineBytes { throw BloomError.lineTooLong(source: name, line: linesBefore + 1, limitBytes: maxLineBytes) }
            if rest > 0 { memmove(buffer, buffer + end, rest) }
            filled = rest
        }
    }

    /// Calls `body` with each line (without its `\n`) of a block from ``forEachBlock(_:)``.
    @inlinable
    package static func forEachLine(in block: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        guard let base = block.baseAddress else { return }
        var start = 0
        let count = block.count
        while start < count {
            let p = memchr(base + start, 0x0A, count - start)
            let end = p.map { UnsafeRawPointer($0) - base } ?? count
            try body(UnsafeRawBufferPointer(start: base + start, count: end - start))
            start = end + 1
        }
    }

    private static func checkLineLengths(_ block: UnsafeRawBufferPointer, limit: Int, source: String, linesBefore: inout Int) throws {
        var longest = 0
        var lines = 0
        forEachLine(in: block) { line in
            lines += 1
            if line.count > limit, longest == 0 { longest = lines }
        }
        if longest > 0 { throw BloomError.lineTooLong(source: source, line: linesBefore + longest, limitBytes: limit) }
        linesBefore += lines
    }
}

/// `copilot bloom dedup`'s loop: passes lines never seen before and adds them to the filter.
package enum LineDeduplicator {
    /// What a run did.
    package struct Summary: Sendable, Equatable {
        /// Lines read.
        package var lines: Int
        /// Lines passed to the output (first occurrences, give or take false positives).
        package var passed: Int

        /// Creates a summary.
        package init(lines: Int, passed: Int) {
            self.lines = lines
            self.passed = passed
        }
    }

    /// Reads lines from `input`, writes each line not (maybe) present in `filter` to `output`
    /// (with its `\n` when it had one) and adds it. Runs of passed lines are written straight
    /// from the read buffer; the output is flushed after each read, so a slow stream (a log
    /// being followed) comes out line by line. Any filter runs the same loop (CopilotReference's
    /// classic one through the protocol); the split-block filter's `insert` is called directly.
    package static func run(input: LineReader, output: FileDescriptorOutput, filter: any MembershipFiltering) throws -> Summary {
        if let splitBlock = filter as? SplitBlockBloomFilter { return try deduplicate(input, output, splitBlock) }
        return try deduplicate(input, output, filter)
    }

    private static func deduplicate<Filter: MembershipFiltering>(
        _ input: LineReader, _ output: FileDescriptorOutput, _ filter: Filter
    ) throws -> Summary {
        var summary = Summary(lines: 0, passed: 0)
        try input.forEachBlock { block, _ in
            guard let base = block.baseAddress else { return }
            var runStart = 0
            var runEnd = 0
            try LineReader.forEachLine(in: block) { line in
                summary.lines += 1
                let lineStart = line.baseAddress.map { UnsafeRawPointer($0) - base } ?? runEnd
                if filter.insert(line) {
                    summary.passed += 1
                    if lineStart != runEnd {
                        try output.write(bytes: UnsafeRawBufferPointer(rebasing: block[runStart..<runEnd]))
                        runStart = lineStart
                    }
                    runEnd = min(block.count, lineStart + line.count + 1)
                }
            }
            try output.write(bytes: UnsafeRawBufferPointer(rebasing: block[runStart..<runEnd]))
            // One flush per read(2): whole buffers when input is fast, prompt lines when it trickles.
            try output.flush()
        }
        return summary
    }
}

/// The stdin halves of `copilot bloom add` and `copilot bloom check`.
package enum BloomLines {
    /// Adds every line of `input` to `filter`; returns the number of lines read.
    @discardableResult
    package static func add(input: LineReader, to filter: SplitBlockBloomFilter) throws -> Int {
        var lines = 0
        try input.forEachBlock { block, _ in
            LineReader.forEachLine(in: block) { line in
                filter.insert(line)
                lines += 1
            }
        }
        return lines
    }

    /// Writes each line of `input` that may be in `filter` (or, with `printAbsent`, each that
    /// certainly is not) to `output`, followed by `\n`, flushing after every read. Returns
    /// whether any line may be present.
    package static func check(input: LineReader, against filter: SplitBlockBloomFilter, output: FileDescriptorOutput, printAbsent: Bool) throws -> Bool {
        var anyPresent = false
        try input.forEachBlock { block, _ in
            try LineReader.forEachLine(in: block) { line in
                let hit = filter.contains(line)
                anyPresent = anyPresent || hit
                if hit != printAbsent {
                    try output.write(bytes: line)
                    try output.write("\n")
                }
            }
            try output.flush()
        }
        return anyPresent
    }
}
