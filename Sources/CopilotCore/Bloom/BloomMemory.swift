#if canImport(Glibc)
import Glibc
#endif

/// Page-aligned memory holding a filter's 64-byte blocks: an anonymous mapping (zero-filled,
/// pages committed on first touch) or a private copy-on-write mapping of a filter file, so
/// opening a large filter costs no read and writes never reach the file behind it.
final class BloomMemory: @unchecked Sendable {
    /// Start of the mapping.
    private let mapping: UnsafeMutableRawPointer
    /// Length of the mapping in bytes.
    private let mappingBytes: Int
    /// First block (64-byte aligned).
    let words: UnsafeMutablePointer<UInt64>
    /// Bytes of blocks.
    let byteCount: Int

    /// Zero-filled memory for `byteCount` bytes of blocks.
    init(zeroedBytes byteCount: Int) throws(BloomError) {
        let length = max(byteCount, 1)
        let p = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let p, p != MAP_FAILED else {
            throw BloomError.system(path: "memory", operation: "allocating \(BloomError.formatBytes(Double(byteCount)))", reason: String(cString: strerror(errno)))
        }
        // Random probes over a large filter miss the TLB on nearly every access with 4 KiB
        // pages; transparent huge pages (where enabled) cut those misses and the page faults.
        if length >= 1 << 21 { _ = madvise(p, length, MADV_HUGEPAGE) }
        mapping = p
        mappingBytes = length
        words = p.bindMemory(to: UInt64.self, capacity: byteCount / 8)
        self.byteCount = byteCount
    }

    /// A private, writable mapping of `fd`'s first `fileBytes` bytes whose blocks start at
    /// `offset` (a multiple of 64).
    init(fileDescriptor fd: Int32, fileBytes: Int, offset: Int, byteCount: Int, path: String) throws(BloomError) {
        let p = mmap(nil, fileBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0)
        guard let p, p != MAP_FAILED else {
            throw BloomError.system(path: path, operation: "mmap", reason: String(cString: strerror(errno)))
        }
        mapping = p
        mappingBytes = fileBytes
        words = (p + offset).bindMemory(to: UInt64.self, capacity: byteCount / 8)
        self.byteCount = byteCount
    }

    /// The whole mapping (header and blocks, for file mappings).
    var mappedBytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: mapping, count: mappingBytes) }

    /// The blocks as bytes.
    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: words, count: byteCount) }

    deinit { munmap(mapping, mappingBytes) }
}
