/// Distinct byte-string keys made fast even in debug builds: a 4-byte tag then the index as 8
/// little-endian bytes, so keys of different tags never collide.
enum BloomTestKeys {
    static func key(_ tag: StaticString, _ i: Int) -> [UInt8] {
        var k = [UInt8](repeating: 0, count: 12)
        tag.withUTF8Buffer { t in for j in 0..<min(4, t.count) { k[j] = t[j] } }
        var v = UInt64(i).littleEndian
        withUnsafeBytes(of: &v) { for j in 0..<8 { k[4 + j] = $0[j] } }
        return k
    }

    /// Calls `body` with keys `range` of `tag`, reusing one buffer.
    static func forEach(_ tag: StaticString, _ range: Range<Int>, _ body: (UnsafeRawBufferPointer) -> Void) {
        var k = key(tag, 0)
        k.withUnsafeMutableBytes { b in
            for i in range {
                b.storeBytes(of: UInt64(i).littleEndian, toByteOffset: 4, as: UInt64.self)
                body(UnsafeRawBufferPointer(b))
            }
        }
    }
}
