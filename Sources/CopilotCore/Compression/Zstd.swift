import CZstd
import Synchronization

/// The one wrapper around libzstd (the `CZstd` system library target). No other file
/// imports `CZstd`.
///
/// Compression and decompression contexts are pooled: `ZSTD_compress` and
/// `ZSTD_decompress` allocate and initialise a fresh context (hundreds of KiB) on every
/// call, which costs more than the work itself on a 4 KiB chat completion.
package enum Zstd {
    /// zstd's default level (3): fast, and far smaller than lz4 on JSON.
    package static let defaultLevel: Int32 = 3

    /// Compresses `source` in one call at `level`.
    package static func compress(_ source: UnsafeRawBufferPointer, level: Int32 = defaultLevel) throws -> [UInt8] {
        let bound = ZSTD_compressBound(source.count)
        var out = [UInt8](repeating: 0, count: bound)
        let context = compressors.take() ?? ZSTD_createCCtx()
        defer { compressors.give(context) }
        let written = out.withUnsafeMutableBytes { dst in
            ZSTD_compressCCtx(context, dst.baseAddress, dst.count, source.baseAddress, source.count, level)
        }
        if ZSTD_isError(written) != 0 {
            throw CacheError.compression(codec: "zstd", reason: String(cString: ZSTD_getErrorName(written)))
        }
        out.removeSubrange(written...)
        return out
    }

    /// Decompresses into exactly `originalCount` bytes; nil when the frame is damaged or its
    /// content has another length.
    package static func decompress(_ source: UnsafeRawBufferPointer, originalCount: Int) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: originalCount)
        let context = decompressors.take() ?? ZSTD_createDCtx()
        defer { decompressors.give(context) }
        let written = out.withUnsafeMutableBytes { dst in
            ZSTD_decompressDCtx(context, dst.baseAddress, dst.count, source.baseAddress, source.count)
        }
        guard ZSTD_isError(written) == 0, written == originalCount else { return nil }
        return out
    }

    private static let compressors = ContextPool(free: { _ = ZSTD_freeCCtx($0) })
    private static let decompressors = ContextPool(free: { _ = ZSTD_freeDCtx($0) })
}

/// Idle zstd contexts (at most 16 kept; more are freed), handed to one thread at a time.
private final class ContextPool: Sendable {
    private let idle = Mutex<[UInt]>([])
    private let free: @Sendable (OpaquePointer) -> Void

    init(free: @escaping @Sendable (OpaquePointer) -> Void) { self.free = free }

    func take() -> OpaquePointer? {
        idle.withLock { $0.popLast() }.flatMap { OpaquePointer(bitPattern: $0) }
    }

    func give(_ context: OpaquePointer?) {
        guard let context else { return }
        let address = UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(context)))
        let kept = idle.withLock { pool -> Bool in
            guard pool.count < 16 else { return false }
            pool.append(address)
            return true
        }
        if !kept { free(context) }
    }
}
