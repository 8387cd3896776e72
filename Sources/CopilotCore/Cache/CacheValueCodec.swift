/// How values over the threshold are compressed.
public enum CacheCompression: String, CaseIterable, Sendable {
    /// zstd level 3: about 4x smaller on chat-completion JSON.
    case zstd
    /// lz4: smaller gains, decodes several GB/s.
    case lz4
    /// Values are stored as given.
    case none

    fileprivate var tag: UInt8 {
        switch self {
        case .none: 0
        case .zstd: 1
        case .lz4: 2
        }
    }
}

/// A value as a store holds it: a 20-byte header, then the payload (compressed or not).
///
/// Header, little-endian: magic `C0 CA`, version 1, codec (0 none, 1 zstd, 2 lz4), original
/// length (u32), checksum (the low 32 bits of XXH3-64 of the original value, seeded with the
/// expiry), expiry in Unix milliseconds (i64, 0 = never). A value whose magic, lengths or checksum do not match
/// decodes as `nil`, so damage reads as a miss and never as wrong bytes.
package struct CacheValueCodec: Sendable {
    /// Values of more bytes than this are compressed.
    package var thresholdBytes: Int
    /// The codec for values over the threshold.
    package var compression: CacheCompression

    /// Header size in bytes.
    package static let headerBytes = 20

    /// Creates a codec; the defaults are `[cache]`'s.
    package init(thresholdBytes: Int = 1024, compression: CacheCompression = .zstd) {
        self.thresholdBytes = thresholdBytes
        self.compression = compression
    }

    /// A decoded value and the expiry its header carries.
    package struct Decoded: Sendable, Equatable {
        /// The original bytes.
        package var value: [UInt8]
        /// Expiry in Unix milliseconds, nil when the value never expires.
        package var expiresAtMs: Int64?
    }

    /// The stored form of `value`, its expiry in the header.
    package func encode(_ value: [UInt8], expiresAtMs: Int64?) throws -> [UInt8] {
        var codec = CacheCompression.none
        var payload: [UInt8] = []
        if value.count > thresholdBytes && compression != .none {
            let packed = try value.withUnsafeBytes { raw in
                try compression == .zstd ? Zstd.compress(raw) : LZ4.compress(raw)
            }
            if packed.count < value.count {
                codec = compression
                payload = packed
            }
        }
        let expiry = expiresAtMs ?? 0
        var out = [UInt8]()
        out.reserveCapacity(Self.headerBytes + (codec == .none ? value.count : payload.count))
        out.append(0xC0)
        out.append(0xCA)
        out.append(1)
        out.append(codec.tag)
        appendLittleEndian(UInt32(value.count), to: &out)
        appendLittleEndian(Self.checksum(value: value, expiry: expiry), to: &out)
        appendLittleEndian(UInt64(bitPattern: expiry), to: &out)
        out.append(contentsOf: codec == .none ? value : payload)
        return out
    }

    /// The header fields without the payload check (for `ttl` on a store that keeps expiry
    /// only in the value); nil when the header is not valid.
    package static func expiry(of stored: [UInt8]) -> Int64?? {
        guard stored.count >= headerBytes, stored[0] == 0xC0, stored[1] == 0xCA, stored[2] == 1 else { return nil }
        let e = Int64(bitPattern: readLittleEndian64(stored, at: 12))
        return .some(e == 0 ? nil : e)
    }

    /// The original value, or nil when `stored` is damaged.
    package func decode(_ stored: [UInt8]) -> Decoded? {
        stored.withUnsafeBytes { decode(raw: $0) }
    }

    /// ``decode(_:)`` of bytes the caller gives up: an uncompressed value is the stored bytes
    /// with the header cut off in place (no allocation when they were the only reference).
    package func decode(taking stored: consuming [UInt8]) -> Decoded? {
        guard let header = stored.withUnsafeBytes(Self.header), header.codec == 0 else { return decode(stored) }
        guard stored.count - Self.headerBytes == header.originalCount else { return nil }
        var value = consume stored
        value.removeSubrange(0..<Self.headerBytes)
        guard Self.checksum(value: value, expiry: header.expiry) == header.crc else { return nil }
        return Decoded(value: value, expiresAtMs: header.expiry == 0 ? nil : header.expiry)
    }

    /// The original value of stored bytes read in place (an SQLite column), or nil when they
    /// are damaged.
    package func decode(raw stored: UnsafeRawBufferPointer) -> Decoded? {
        guard let header = Self.header(stored) else { return nil }
        let payload = UnsafeRawBufferPointer(rebasing: stored[Self.headerBytes...])
        let value: [UInt8]?
        switch header.codec {
        case 0: value = payload.count == header.originalCount ? [UInt8](payload) : nil
        case 1: value = Zstd.decompress(payload, originalCount: header.originalCount)
        case 2: value = LZ4.decompress(payload, originalCount: header.originalCount)
        default: value = nil
        }
        guard let value, Self.checksum(value: value, expiry: header.expiry) == header.crc else { return nil }
        return Decoded(value: value, expiresAtMs: header.expiry == 0 ? nil : header.expiry)
    }

    /// A stored value's header fields, or nil when its magic or version is wrong.
    private static func header(_ stored: UnsafeRawBufferPointer) -> (codec: UInt8, originalCount: Int, crc: UInt32, expiry: Int64)? {
        guard stored.count >= headerBytes, stored[0] == 0xC0, stored[1] == 0xCA, stored[2] == 1 else { return nil }
        return (stored[3], Int(stored.loadUnaligned(fromByteOffset: 4, as: UInt32.self).littleEndian),
                stored.loadUnaligned(fromByteOffset: 8, as: UInt32.self).littleEndian,
                Int64(bitPattern: stored.loadUnaligned(fromByteOffset: 12, as: UInt64.self).littleEndian))
    }

    private static func checksum(value: [UInt8], expiry: Int64) -> UInt32 {
        value.withUnsafeBytes { UInt32(truncatingIfNeeded: XXHash.xxh3($0, seed: UInt64(bitPattern: expiry))) }
    }
}

private func appendLittleEndian<T: FixedWidthInteger>(_ value: T, to out: inout [UInt8]) {
    var v = value.littleEndian
    withUnsafeBytes(of: &v) { out.append(contentsOf: $0) }
}

private func readLittleEndian64(_ bytes: [UInt8], at offset: Int) -> UInt64 {
    var v: UInt64 = 0
    for i in 0..<8 { v |= UInt64(bytes[offset + i]) << (8 * UInt64(i)) }
    return v
}
