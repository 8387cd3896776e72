import CopilotCore
import NIOCore

/// ``CacheKey``'s key computed from the raw body without building a JSON tree: one walk over
/// the (already validated, see ``ChatRequestScanner``) bytes writes the canonical JSON of the
/// key fields directly (keys sorted, no whitespace, numbers and strings in
/// ``RequestJSON/canonical``'s spelling), then SHA-256. The same key as `CacheKey.key`
/// (a differential test holds them equal), at a fraction of a full `JSONDecoder` parse.
///
/// A body with a repeated key in any object, where a decoder's dictionary semantics decide
/// which value counts, goes through `CacheKey` itself.
enum ScannedCacheKey {
    /// The request's cache key, or nil when `CacheKey` refuses the body too.
    static func key(_ body: ByteBuffer) -> String? {
        let canonical: [UInt8]? = body.withUnsafeReadableBytes { raw in
            var writer = CanonicalWriter(raw)
            return try? writer.request()
        }
        guard let canonical else { return try? CacheKey.key(request: Array(body.readableBytesView)) }
        return "chat:" + SHA256Digest.hex(canonical)
    }

    /// The canonical JSON of the key fields, or nil where ``key(_:)`` would defer to `CacheKey`.
    static func canonicalJSON(_ body: ByteBuffer) -> String? {
        body.withUnsafeReadableBytes { raw in
            var writer = CanonicalWriter(raw)
            return (try? writer.request()).map { String(decoding: $0, as: UTF8.self) }
        }
    }
}

/// Writes canonical JSON from JSON text the scanner has accepted.
private struct CanonicalWriter {
    /// Not handled here (a repeated key, no model or messages): `CacheKey` decides.
    struct Defer: Error {}

    private static let keyFields: Set<String> = Set(CacheKey.fields)
    private let bytes: UnsafeRawBufferPointer
    private var i = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    /// The top-level object reduced to the key fields (nulls left out).
    mutating func request() throws(Defer) -> [UInt8] {
        skipSpace()
        guard peek() == UInt8(ascii: "{") else { throw Defer() }
        var seen = Set<String>()
        var kept: [(key: [UInt8], value: [UInt8])] = []
        var model = false, messages = false
        try members { (key: String, this: inout CanonicalWriter) throws(Defer) in
            guard seen.insert(key).inserted else { throw Defer() }
            guard Self.keyFields.contains(key) else {
                var ignored: [UInt8] = []
                try this.value(into: &ignored)
                return
            }
            let start = this.i
            var value: [UInt8] = []
            try this.value(into: &value)
            let first = this.bytes[start]
            if key == "model" { model = first == UInt8(ascii: "\"") && value.count > 2 }
            if key == "messages" { messages = first == UInt8(ascii: "[") && value.count > 2 }
            if value != Array("null".utf8) { kept.append((Array(key.utf8), value)) }
        }
        guard model, messages else { throw Defer() }
        return Self.object(kept)
    }

    private static func object(_ members: [(key: [UInt8], value: [UInt8])]) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "{")]
        for (n, m) in members.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }).enumerated() {
            if n > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: RequestJSON.string(String(decoding: m.key, as: UTF8.self)).canonical.utf8)
            out.append(UInt8(ascii: ":"))
            out.append(contentsOf: m.value)
        }
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// Calls `body` at each member's value with its decoded key; `i` ends past the `}`.
    private mutating func members(_ body: (String, inout CanonicalWriter) throws(Defer) -> Void) throws(Defer) {
        i += 1  // {
        skipSpace()
        if peek() == UInt8(ascii: "}") {
            i += 1
            return
        }
        while true {
            skipSpace()
            let key = try stringValue()
            skipSpace()
            i += 1  // :
            skipSpace()
            try body(key, &self)
            skipSpace()
            guard let c = peek() else { throw Defer() }
            i += 1
            if c == UInt8(ascii: "}") { return }
        }
    }

    private mutating func value(into out: inout [UInt8]) throws(Defer) {
        guard let c = peek() else { throw Defer() }
        switch c {
        case UInt8(ascii: "{"):
            var seen = Set<String>()
            var kept: [(key: [UInt8], value: [UInt8])] = []
            try members { (key: String, this: inout CanonicalWriter) throws(Defer) in
                guard seen.insert(key).inserted else { throw Defer() }
                var value: [UInt8] = []
                try this.value(into: &value)
                kept.append((Array(key.utf8), value))
            }
            out.append(contentsOf: Self.object(kept))
        case UInt8(ascii: "["):
            i += 1
            skipSpace()
            out.append(UInt8(ascii: "["))
            if peek() == UInt8(ascii: "]") {
                i += 1
                out.append(UInt8(ascii: "]"))
                return
            }
            while true {
                skipSpace()
                try value(into: &out)
                skipSpace()
                guard let c = peek() else { throw Defer() }
                i += 1
                out.append(c)  // , or ]
                if c == UInt8(ascii: "]") { return }
            }
        case UInt8(ascii: "\""):
            out.append(contentsOf: RequestJSON.string(try stringValue()).canonical.utf8)
        case UInt8(ascii: "t"): try literal("true", into: &out)
        case UInt8(ascii: "f"): try literal("false", into: &out)
        case UInt8(ascii: "n"): try literal("null", into: &out)
        default:
            let start = i
            while let d = peek(), Self.isNumberByte(d) { i += 1 }
            guard let number = Double(String(decoding: bytes[start..<i], as: UTF8.self)) else { throw Defer() }
            out.append(contentsOf: RequestJSON.number(number).canonical.utf8)
        }
    }

    /// A string's decoded text; `i` ends past its closing quote.
    private mutating func stringValue() throws(Defer) -> String {
        guard peek() == UInt8(ascii: "\"") else { throw Defer() }
        let start = i + 1
        i = start
        while i < bytes.count, bytes[i] != UInt8(ascii: "\"") {
            i += bytes[i] == UInt8(ascii: "\\") ? 2 : 1
        }
        guard i < bytes.count else { throw Defer() }
        i += 1
        return ChatRequestScanner.decodeString(bytes[start..<(i - 1)])
    }

    private mutating func literal(_ word: String, into out: inout [UInt8]) throws(Defer) {
        let n = word.utf8.count
        guard i + n <= bytes.count else { throw Defer() }
        i += n
        out.append(contentsOf: word.utf8)
    }

    private static func isNumberByte(_ c: UInt8) -> Bool {
        (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || c == UInt8(ascii: "-") || c == UInt8(ascii: "+") || c == UInt8(ascii: ".")
            || c == UInt8(ascii: "e") || c == UInt8(ascii: "E")
    }

    private func peek() -> UInt8? { i < bytes.count ? bytes[i] : nil }

    private mutating func skipSpace() {
        while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 { i += 1 }
    }
}
