import Foundation

/// What `copilot bloom info` shows about a filter.
package struct BloomFilterReport: Codable, Equatable, Sendable {
    /// The file.
    package var path: String
    /// Format version.
    package var formatVersion: Int
    /// Layout name.
    package var kind: String
    /// Hash function name.
    package var hash: String
    /// 512-bit blocks.
    package var blocks: Int
    /// Bits in all (512 per block).
    package var bits: Int
    /// Size of the bits in bytes.
    package var bytes: Int
    /// Bits set per item.
    package var bitsPerItem: Int
    /// Capacity the filter was sized for.
    package var capacity: Int
    /// False-positive rate the filter was sized for.
    package var targetFpRate: Double
    /// Items added that were not already maybe-present.
    package var itemCount: Int
    /// Fraction of bits set.
    package var fillRatio: Double
    /// Distinct items estimated from the fill.
    package var estimatedCount: Double
    /// False-positive rate of the filter as it is now.
    package var currentFpRate: Double

    enum CodingKeys: String, CodingKey {
        case path, formatVersion = "format_version", kind, hash, blocks, bits, bytes, bitsPerItem = "bits_per_item"
        case capacity, targetFpRate = "target_fp_rate", itemCount = "item_count", fillRatio = "fill_ratio"
        case estimatedCount = "estimated_count", currentFpRate = "current_fp_rate"
    }

    /// Measures `filter`, read from `path`. O(size).
    package init(path: String, filter: SplitBlockBloomFilter) {
        self.path = path
        formatVersion = Int(BloomFileFormat.version)
        kind = "split-block-512/\(filter.bitsPerItem)"
        hash = "wyhash-final3"
        blocks = filter.blockCount
        bits = filter.blockCount * 512
        bytes = filter.byteCount
        bitsPerItem = filter.bitsPerItem
        capacity = filter.capacity
        targetFpRate = filter.targetFalsePositiveRate
        itemCount = filter.itemCount
        fillRatio = filter.fillRatio
        let estimate = filter.estimatedCount
        estimatedCount = estimate.isFinite ? estimate.rounded() : Double(Int.max)
        currentFpRate = filter.currentFalsePositiveRate
    }

    /// Aligned `name: value` lines.
    package var text: String {
        let rows: [(String, String)] = [
            ("file", path),
            ("format", "version \(formatVersion), \(kind), \(hash)"),
            ("size", "\(bytes) bytes (\(blocks) blocks of 512 bits, \(bitsPerItem) bits per item)"),
            ("capacity", "\(capacity)"),
            ("target fp rate", "\(targetFpRate)"),
            ("items added", "\(itemCount)"),
            ("fill ratio", String(format: "%.6f", fillRatio)),
            ("estimated count", String(format: "%.0f", estimatedCount)),
            ("current fp rate", String(format: "%.3g", currentFpRate)),
        ]
        return rows.map { "\($0.0.padding(toLength: 16, withPad: " ", startingAt: 0)) \($0.1)\n" }.joined()
    }

    /// One JSON object with snake_case keys.
    package var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        let data = (try? encoder.encode(self)) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}

extension BloomFile {
    /// Merges `inputs` (union, or intersection) into a filter written atomically to `output`
    /// (under the writer lock when `output` exists). All inputs must have the same layout.
    public static func merge(output: String, inputs: [String], intersect: Bool) throws {
        guard let first = inputs.first else { return }
        let result = try open(first).copy()
        for path in inputs.dropFirst() {
            let other = try open(path)
            do {
                if intersect { try result.formIntersection(other) } else { try result.formUnion(other) }
            } catch BloomError.incompatible(let why) {
                throw BloomError.incompatible("\(first) and \(path) differ, \(why)")
            }
        }
        if FileManager.default.fileExists(atPath: output) {
            let lock = try BloomFileLock(path: output)
            defer { lock.release() }
            try save(result, to: output, replace: true)
        } else {
            try save(result, to: output, replace: false)
        }
    }
}
