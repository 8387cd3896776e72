import Foundation

/// `export` / `import` lines: `{"key": ..., "value": BASE64, "ttl_ms": N | null, "session": S | null}`.
package enum CacheTransfer {
    /// One export line (no newline).
    package static func line(_ r: CacheRecord) -> String {
        "{\"key\":\(JSONText.quote(r.key)),\"value\":\"\(Data(r.value).base64EncodedString())\",\"ttl_ms\":\(r.ttlMs.map(String.init) ?? "null"),\"session\":\(r.session.map(JSONText.quote) ?? "null")}"
    }

    private struct Line: Decodable {
        var key: String
        var value: String
        var ttl_ms: Int64?
        var session: String?
    }

    /// Every entry of a JSON Lines text (blank lines skipped); the first bad line throws
    /// ``CacheError/importLine(source:line:reason:)``.
    package static func parse(_ bytes: [UInt8], source: String) throws -> [CacheWrite] {
        var writes: [CacheWrite] = []
        var lineNumber = 0
        let decoder = JSONDecoder()
        for raw in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            if raw.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            let entry: Line
            do {
                entry = try decoder.decode(Line.self, from: Data(raw))
            } catch DecodingError.keyNotFound(let key, _) {
                throw CacheError.importLine(source: source, line: lineNumber, reason: "\"\(key.stringValue)\" is missing")
            } catch DecodingError.typeMismatch(_, let context) {
                let field = context.codingPath.last?.stringValue ?? "value"
                throw CacheError.importLine(source: source, line: lineNumber, reason: "\"\(field)\" has the wrong type")
            } catch {
                throw CacheError.importLine(source: source, line: lineNumber, reason: "not a JSON object")
            }
            guard let value = Data(base64Encoded: entry.value) else {
                throw CacheError.importLine(source: source, line: lineNumber, reason: "\"value\" is not base64")
            }
            do {
                try CacheLimits.check(key: entry.key)
                try CacheLimits.check(session: entry.session)
            } catch {
                throw CacheError.importLine(source: source, line: lineNumber, reason: error.localizedDescription)
            }
            if let ttl = entry.ttl_ms, ttl < 1 || ttl > CacheLimits.maxTTLSeconds * 1000 {
                throw CacheError.importLine(source: source, line: lineNumber, reason: "\"ttl_ms\" must be 1 to \(CacheLimits.maxTTLSeconds * 1000) or null")
            }
            writes.append(CacheWrite(key: entry.key, value: [UInt8](value), ttlMs: entry.ttl_ms, session: entry.session))
        }
        return writes
    }

    /// The bytes of a file; errors name it.
    package static func readFile(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CacheError.storeUnavailable(path: path, reason: "no such file or not readable")
        }
        return [UInt8](data)
    }
}
