/// Splits text into words by ``ConsensusText``'s rules and hashes each lowercased word to 64
/// bits straight from the UTF-8 bytes, with no String per word.
///
/// ASCII bytes take a branch-light path; a non-ASCII text is first put in NFC and its
/// non-ASCII scalars classified with Unicode properties (slower, still no allocation unless a
/// scalar changes when lowercased). Hash: FNV-1a over the lowercased bytes, then a 64-bit
/// finalizer so the top bits index hash tables well. Equal words give equal hashes; two
/// different words collide with probability about 2^-64.
package enum WordHasher {
    @inline(__always)
    package static func finalize(_ key: UInt64) -> UInt64 {
        var k = key
        k ^= k >> 33
        k &*= 0xff51_afd7_ed55_8ccd
        k ^= k >> 33
        k &*= 0xc4ce_b9fe_1a85_ec53
        k ^= k >> 33
        return k
    }

    static let fnvOffset: UInt64 = 0xcbf2_9ce4_8422_2325
    static let fnvPrime: UInt64 = 0x0000_0100_0000_01b3

    /// Appends the hash of every word of `text` to `hashes`; returns the word count.
    package static func appendWordHashes(of text: String, to hashes: inout [UInt64]) -> Int {
        let before = hashes.count
        let asciiOnly = text.utf8.withContiguousStorageIfAvailable { bytes in
            scan(bytes, allowNonASCII: false, into: &hashes)
        }
        if asciiOnly == true { return hashes.count - before }
        hashes.removeSubrange(before...)
        var canonical = ConsensusText.canonical(text)
        canonical.withUTF8 { _ = scan($0, allowNonASCII: true, into: &hashes) }
        return hashes.count - before
    }

    /// The hash of one word given in lowercase ASCII (for building tables such as stopwords).
    package static func hash(ofLowercaseWord word: String) -> UInt64 {
        var h = fnvOffset
        for b in word.utf8 { h = (h ^ UInt64(b)) &* fnvPrime }
        return finalize(h)
    }

    /// Returns false (having appended some hashes) when it meets a non-ASCII byte and
    /// `allowNonASCII` is off; the caller then rescans the NFC text.
    private static func scan(_ bytes: UnsafeBufferPointer<UInt8>, allowNonASCII: Bool, into hashes: inout [UInt64]) -> Bool {
        var h = fnvOffset
        var inWord = false
        var i = 0
        let n = bytes.count
        while i < n {
            let b = bytes[i]
            if b < 0x80 {
                let lower = b | 0x20
                if b &- 0x30 < 10 || lower &- 0x61 < 26 {
                    let c = b &- 0x30 < 10 ? b : lower
                    h = (h ^ UInt64(c)) &* fnvPrime
                    inWord = true
                } else if inWord {
                    hashes.append(finalize(h))
                    h = fnvOffset
                    inWord = false
                }
                i += 1
                continue
            }
            guard allowNonASCII else { return false }
            let (scalar, length) = decodeScalar(bytes, at: i)
            if let scalar, ConsensusText.isWordScalar(scalar) {
                if scalar.properties.changesWhenLowercased {
                    for c in scalar.properties.lowercaseMapping.utf8 { h = (h ^ UInt64(c)) &* fnvPrime }
                } else {
                    for k in i..<(i + length) { h = (h ^ UInt64(bytes[k])) &* fnvPrime }
                }
                inWord = true
            } else if inWord {
                hashes.append(finalize(h))
                h = fnvOffset
                inWord = false
            }
            i += length
        }
        if inWord { hashes.append(finalize(h)) }
        return true
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

    @inline(__always)
    func contains(_ hash: UInt64) -> Bool {
        slots.withUnsafeBufferPointer { slots in
            var slot = Int(truncatingIfNeeded: hash >> shift)
            let mask = slots.count - 1
            while true {
                let v = slots[slot]
                if v == hash { return true }
                if v == 0 { return false }
                slot = (slot + 1) & mask
            }
        }
    }
}
