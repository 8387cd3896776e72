/// Splits text into words by ``ConsensusText``'s rules and hashes each lowercased word to 64
/// bits straight from the UTF-8 bytes, with no String per word.
///
/// The hash of a word is defined on its lowercased UTF-8 bytes, read 8 at a time (little
/// endian, the last chunk zero-padded), each chunk xor-ed in and mixed by a multiply and an
/// xor-shift (a bijection, so words of up to 8 bytes never collide; the multiply carries every
/// input bit into the top bits that index hash tables). ASCII text takes the fast path: word bytes are letters and
/// digits, whose lowercase form is `byte | 0x20`, so a whole 8-byte chunk is lowercased with
/// one OR. Non-ASCII text is first put in NFC and each word's lowercased bytes are gathered in
/// a scratch buffer (slower; no allocation unless a scalar changes when lowercased). Equal
/// words give equal hashes; two different words collide with probability about 2^-64.
package enum WordHasher {
    /// The hash of an n-gram extended by one word: a multiply-xorshift step over both hashes
    /// (word hashes are already well mixed, so one step keeps the top bits uniform).
    @inline(__always)
    package static func combine(_ prefix: UInt64, _ word: UInt64) -> UInt64 {
        let x = (prefix &* 0xD6E8_FEB8_6659_FD93 ^ word) &* 0x9E37_79B9_7F4A_7C15
        return x ^ (x >> 32)
    }

    @inline(__always)
    static func mix(_ h: UInt64, _ chunk: UInt64) -> UInt64 {
        let x = (h ^ chunk) &* 0x9E37_79B9_7F4A_7C15
        return x ^ (x >> 29)
    }

    static let seed: UInt64 = 0x243F_6A88_85A3_08D3

    /// Hash of `length` lowercase bytes at `p`; `lowercaseMask` is OR-ed into every chunk
    /// (`0x2020...` turns ASCII letters and digits into their lowercase bytes, 0 keeps bytes).
    @inline(__always)
    static func hashBytes(_ p: UnsafePointer<UInt8>, _ length: Int, readableAfter: Int, lowercaseMask: UInt64) -> UInt64 {
        // Wrapping arithmetic throughout: lengths are buffer sizes, far from overflowing.
        var h = seed ^ UInt64(truncatingIfNeeded: length)
        var i = 0
        while i &+ 8 <= length {
            h = mix(h, UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self).littleEndian | lowercaseMask)
            i &+= 8
        }
        let rest = length &- i
        if rest > 0 {
            var tail: UInt64
            if readableAfter &- i >= 8 {
                tail = UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self).littleEndian
            } else {
                tail = 0
                for k in 0..<rest { tail |= UInt64(p[i &+ k]) &<< UInt64(8 &* k) }
            }
            let keep: UInt64 = (1 &<< UInt64(truncatingIfNeeded: 8 &* rest)) &- 1
            h = mix(h, (tail | lowercaseMask) & keep)
        }
        return h
    }

    /// The hash of one word given in lowercase (for building tables such as stopwords).
    package static func hash(ofLowercaseWord word: String) -> UInt64 {
        var word = word
        return word.withUTF8 { bytes in
            guard let base = bytes.baseAddress else { return seed }
            return hashBytes(base, bytes.count, readableAfter: bytes.count, lowercaseMask: 0)
        }
    }

    /// Upper bound of the number of words in `text` (each word needs a byte and a separator).
    @inline(__always)
    package static func maxWords(_ text: String) -> Int {
        text.utf8.count / 2 + 1
    }

    /// Writes the hash of every word of `text` to `out` from index `at`; returns the word
    /// count. `out` must have room for ``maxWords(_:)`` entries from `at` (the NFC path grows
    /// `out` itself when its text is longer).
    package static func hashWords(of text: String, into out: inout [UInt64], at: Int) -> Int {
        reserve(&out, upTo: at + maxWords(text))
        let ascii = text.utf8.withContiguousStorageIfAvailable { bytes in
            out.withUnsafeMutableBufferPointer { out in
                out.baseAddress.flatMap { scanASCII(bytes, into: $0 + at) }
            }
        }
        if let ascii, let count = ascii { return count }
        var canonical = ConsensusText.canonical(text)
        reserve(&out, upTo: at + maxWords(canonical))
        return canonical.withUTF8 { bytes in
            out.withUnsafeMutableBufferPointer { out in
                out.baseAddress.map { scanUnicode(bytes, into: $0 + at) } ?? 0
            }
        }
    }

    private static func reserve(_ out: inout [UInt64], upTo count: Int) {
        if out.count < count { out.append(contentsOf: repeatElement(0, count: count - out.count)) }
    }

    /// ASCII-only scan; nil when the text has a non-ASCII byte (the caller rescans in NFC).
    /// Word boundaries are found 8 bytes at a time (``alnumMask(_:)``), so a word costs two
    /// or three mask computations and one hash instead of a branch per byte.
    @inline(__always)
    private static func scanASCII(_ bytes: UnsafeBufferPointer<UInt8>, into out: UnsafeMutablePointer<UInt64>) -> Int? {
        guard let base = bytes.baseAddress else { return 0 }
        let n = bytes.count
        var highBits: UInt64 = 0
        var k = 0
        while k + 8 <= n {
            highBits |= load(base + k)
            k += 8
        }
        while k < n {
            highBits |= UInt64(base[k])
            k += 1
        }
        if highBits & 0x8080_8080_8080_8080 != 0 { return nil }

        var count = 0
        var i = 0
        while true {
            // Next word start: 8 bytes at a time, then byte by byte near the end.
            var found = false
            while i &+ 8 <= n {
                let m = alnumMask(load(base + i))
                if m != 0 {
                    i &+= m.trailingZeroBitCount &>> 3
                    found = true
                    break
                }
                i &+= 8
            }
            if !found {
                while i < n && !isASCIIAlnum(base[i]) { i += 1 }
                if i >= n { return count }
            }
            let start = i
            // Its end, the same way.
            i &+= 1
            found = false
            while i &+ 8 <= n {
                let m = ~alnumMask(load(base + i)) & 0x8080_8080_8080_8080
                if m != 0 {
                    i &+= m.trailingZeroBitCount &>> 3
                    found = true
                    break
                }
                i &+= 8
            }
            if !found {
                while i < n && isASCIIAlnum(base[i]) { i += 1 }
            }
            out[count] = hashBytes(base + start, i &- start, readableAfter: n &- start, lowercaseMask: 0x2020_2020_2020_2020)
            count &+= 1
        }
    }

    @inline(__always)
    private static func isASCIIAlnum(_ b: UInt8) -> Bool {
        (b | 0x20) &- 0x61 < 26 || b &- 0x30 < 10
    }

    @inline(__always)
    private static func load(_ p: UnsafePointer<UInt8>) -> UInt64 {
        UnsafeRawPointer(p).loadUnaligned(as: UInt64.self).littleEndian
    }

    /// For 8 ASCII bytes, the high bit of each byte that is a letter or digit. Adding
    /// `0x80 - c` to a byte below 0x80 sets its high bit exactly when the byte is >= c, with
    /// no carry into the next byte.
    @inline(__always)
    private static func alnumMask(_ x: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let high: UInt64 = 0x8080_8080_8080_8080
        let lower = x | 0x2020_2020_2020_2020
        let letters = (lower &+ ones &* (0x80 - 0x61)) & ~(lower &+ ones &* (0x80 - 0x7B))
        let digits = (x &+ ones &* (0x80 - 0x30)) & ~(x &+ ones &* (0x80 - 0x3A))
        return (letters | digits) & high
    }

    /// Full scan of NFC text: ASCII bytes as above, other scalars by Unicode properties.
    private static func scanUnicode(_ bytes: UnsafeBufferPointer<UInt8>, into out: UnsafeMutablePointer<UInt64>) -> Int {
        var word: [UInt8] = []
        word.reserveCapacity(64)
        var count = 0
        var i = 0
        let n = bytes.count
        func flush() {
            guard !word.isEmpty else { return }
            out[count] = word.withUnsafeBufferPointer {
                guard let base = $0.baseAddress else { return seed }
                return hashBytes(base, $0.count, readableAfter: $0.count, lowercaseMask: 0)
            }
            count += 1
            word.removeAll(keepingCapacity: true)
        }
        while i < n {
            let b = bytes[i]
            if b < 0x80 {
                if isASCIIAlnum(b) { word.append(b | 0x20) } else { flush() }
                i += 1
                continue
            }
            let (scalar, length) = decodeScalar(bytes, at: i)
            if let scalar, ConsensusText.isWordScalar(scalar) {
                if scalar.properties.changesWhenLowercased {
                    word.append(contentsOf: scalar.properties.lowercaseMapping.utf8)
                } else {
                    word.append(contentsOf: bytes[i..<(i + length)])
                }
            } else {
                flush()
            }
            i += length
        }
        flush()
        return count
    }

    /// Decodes the scalar starting at `i` of valid UTF-8 (a Swift String's bytes); a scalar
    /// that cannot be formed (never for String storage) comes back nil and counts as a separator.
    @inline(__always)
    private static func decodeScalar(_ bytes: UnsafeBufferPointer<UInt8>, at i: Int) -> (Unicode.Scalar?, Int) {
        let b0 = bytes[i]
        let length = b0 >= 0xF0 ? 4 : b0 >= 0xE0 ? 3 : b0 >= 0xC0 ? 2 : 1
        guard i + length <= bytes.count else { return (nil, 1) }
        var value: UInt32
        switch length {
        case 2: value = UInt32(b0 & 0x1F)
        case 3: value = UInt32(b0 & 0x0F)
        case 4: value = UInt32(b0 & 0x07)
        default: return (nil, 1)
        }
        for k in 1..<length { value = value << 6 | UInt32(bytes[i + k] & 0x3F) }
        return (Unicode.Scalar(value), length)
    }
}

/// A small open-addressing set of stopword hashes (power-of-two slots, top bits index).
struct StopwordTable: Sendable {
    private let slots: [UInt64]
    private let shift: UInt64

    init(words: [String]) {
        let capacityLog2 = 9
        var slots = [UInt64](repeating: 0, count: 1 << capacityLog2)
        let shift = UInt64(64 - capacityLog2)
        for word in words {
            let h = WordHasher.hash(ofLowercaseWord: word)
            var slot = Int(truncatingIfNeeded: h >> shift)
            while slots[slot] != 0 && slots[slot] != h { slot = (slot + 1) & (slots.count - 1) }
            slots[slot] = h
        }
        self.slots = slots
        self.shift = shift
    }

    /// The shared table of ``ConsensusText/stopwords``.
    static let english = StopwordTable(words: ConsensusText.stopwords)

    /// Copies the hashes at `source` that are not stopwords to `destination`; returns how many.
    func copyContentWords(_ source: UnsafePointer<UInt64>, count: Int, to destination: UnsafeMutablePointer<UInt64>) -> Int {
        slots.withUnsafeBufferPointer { slots in
            let mask = slots.count - 1
            var written = 0
            for t in 0..<count {
                let hash = source[t]
                var slot = Int(truncatingIfNeeded: hash >> shift)
                var isStopword = false
                while true {
                    let v = slots[slot]
                    if v == hash {
                        isStopword = true
                        break
                    }
                    if v == 0 { break }
                    slot = (slot + 1) & mask
                }
                if !isStopword {
                    destination[written] = hash
                    written += 1
                }
            }
            return written
        }
    }
}
