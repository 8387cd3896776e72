/// An open-addressing hash index from keys to node numbers, for the memory backend's LRU:
/// one 8-byte slot per bucket (a 32-bit tag of the key's hash beside the node number), linear
/// probing, deletion by backward shift (no tombstones), at most half full. The key itself
/// lives in its node; a slot whose tag matches is confirmed by comparing the node's key.
///
/// The hash is a seeded multiply-mix over the key's UTF-8 bytes, chosen per process at
/// random like Swift's own `Hasher` seed, and about a quarter of `Hasher`'s cost on cache keys.
struct MemoryIndex {
    private var slots: [UInt64]
    private var mask: Int
    /// Keys held.
    private(set) var count = 0
    private let seed: UInt64

    init(seed: UInt64 = UInt64.random(in: .min ... .max)) {
        slots = [UInt64](repeating: 0, count: 16)
        mask = 15
        self.seed = seed | 1
    }

    /// The 64-bit hash of a key and its session.
    func hash(_ key: MemoryKey) -> UInt64 {
        var h = Self.hash(key.key, seed)
        if let session = key.session { h = Self.hash(session, h ^ 0x9E37_79B9_7F4A_7C15) }
        return h
    }

    private static func hash(_ s: String, _ seed: UInt64) -> UInt64 {
        s.utf8.withContiguousStorageIfAvailable { hash($0, seed) } ?? Array(s.utf8).withUnsafeBufferPointer { hash($0, seed) }
    }

    private static func hash(_ bytes: UnsafeBufferPointer<UInt8>, _ seed: UInt64) -> UInt64 {
        var h = seed ^ (UInt64(bytes.count) &* 0xC2B2_AE3D_27D4_EB4F)
        guard let base = bytes.baseAddress else { return mix(h) }
        let n = bytes.count
        var i = 0
        while i + 8 <= n {
            h = mix(h ^ UInt64(littleEndian: UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)))
            i += 8
        }
        if i < n {
            var tail: UInt64 = 0
            for k in i..<n { tail |= UInt64(base[k]) << (8 * (k - i)) }
            h = mix(h ^ tail)
        }
        return mix(h)
    }

    @inline(__always) private static func mix(_ x: UInt64) -> UInt64 {
        let m = x.multipliedFullWidth(by: 0x9E37_79B9_7F4A_7C15)
        return m.high ^ m.low
    }

    @inline(__always) private static func tag(_ hash: UInt64) -> UInt64 { (hash >> 32) << 32 }

    /// The node whose key has `hash` and for which `holdsKey` is true.
    func find(hash: UInt64, holdsKey: (Int32) -> Bool) -> Int32? {
        let tag = Self.tag(hash)
        var i = Int(truncatingIfNeeded: hash) & mask
        while true {
            let slot = slots[i]
            if slot == 0 { return nil }
            if slot & 0xFFFF_FFFF_0000_0000 == tag {
                let node = Int32(truncatingIfNeeded: slot & 0xFFFF_FFFF) - 1
                if holdsKey(node) { return node }
            }
            i = (i + 1) & mask
        }
    }

    /// Adds a node for a key known to be absent; `hashOf` gives a held node's hash (to regrow).
    mutating func insert(node: Int32, hash: UInt64, hashOf: (Int32) -> UInt64) {
        if (count + 1) * 2 > slots.count { grow(hashOf: hashOf) }
        place(node: node, hash: hash)
        count += 1
    }

    private mutating func place(node: Int32, hash: UInt64) {
        var i = Int(truncatingIfNeeded: hash) & mask
        while slots[i] != 0 { i = (i + 1) & mask }
        slots[i] = Self.tag(hash) | UInt64(UInt32(node + 1))
    }

    private mutating func grow(hashOf: (Int32) -> UInt64) {
        let old = slots
        slots = [UInt64](repeating: 0, count: old.count * 2)
        mask = slots.count - 1
        for slot in old where slot != 0 {
            let node = Int32(truncatingIfNeeded: slot & 0xFFFF_FFFF) - 1
            place(node: node, hash: hashOf(node))
        }
    }

    /// Removes a held node (with its key's `hash`); later entries of its probe run shift back.
    mutating func remove(node: Int32, hash: UInt64, hashOf: (Int32) -> UInt64) {
        let wanted = Self.tag(hash) | UInt64(UInt32(node + 1))
        var hole = Int(truncatingIfNeeded: hash) & mask
        while slots[hole] != wanted { hole = (hole + 1) & mask }
        var j = hole
        while true {
            j = (j + 1) & mask
            let slot = slots[j]
            if slot == 0 { break }
            let home = Int(truncatingIfNeeded: hashOf(Int32(truncatingIfNeeded: slot & 0xFFFF_FFFF) - 1)) & mask
            // The entry at j may fill the hole unless its home lies cyclically in (hole, j].
            let homeAfterHole = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j)
            if !homeAfterHole {
                slots[hole] = slot
                hole = j
            }
        }
        slots[hole] = 0
        count -= 1
    }

    /// Every held node number, in slot order.
    var nodes: [Int32] {
        slots.compactMap { $0 == 0 ? nil : Int32(truncatingIfNeeded: $0 & 0xFFFF_FFFF) - 1 }
    }

    /// Forgets every key, keeping the slots allocated.
    mutating func removeAll() {
        for i in slots.indices { slots[i] = 0 }
        count = 0
    }
}
