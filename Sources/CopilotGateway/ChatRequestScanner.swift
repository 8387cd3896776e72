import NIOCore

/// A single-pass, validating JSON scanner for chat-completions bodies: it checks the whole
/// body against the JSON grammar (RFC 8259: no trailing commas, no comments, no control
/// characters in strings, nesting at most ``maxDepth``) and picks out the top-level `model`,
/// `stream` and `messages` without building any objects, so the body can be forwarded as it
/// came. About a tenth of the cost of `JSONSerialization` on a typical request.
///
/// Bytes inside strings are not checked for UTF-8 validity (they are forwarded untouched; the
/// upstream judges its input); `model` is decoded with invalid sequences repaired.
struct ChatRequestScanner {
    /// Deepest nesting of arrays and objects accepted.
    static let maxDepth = 256

    /// What the scan found at the top level.
    struct Fields {
        /// Decoded `model`, if it was a string.
        var model: String?
        /// Byte range of the `model` value (quotes included), to replace it for an alias.
        var modelRange: Range<Int>?
        /// Whether `model` was present with a non-string value.
        var modelNotString = false
        /// `stream`: true, false, or nil when absent or null.
        var stream: Bool?
        /// Whether `stream` had a value other than true, false or null.
        var streamInvalid = false
        /// Element count of `messages`, nil when absent; -1 when it is not an array.
        var messageCount: Int?
        /// The generation parameters the tuner may set: each one's value when it is a number,
        /// and its byte range when present at all.
        var sampling = SamplingFields()
    }

    /// `temperature`, `top_p` and `max_tokens` (or `max_completion_tokens`) as sent.
    struct SamplingFields: Equatable {
        /// `temperature` when it is a number (the response cache's `auto` mode needs 0).
        var temperature: Double?
        var temperatureRange: Range<Int>?
        var topP: Double?
        var topPRange: Range<Int>?
        var maxTokens: Double?
        var maxTokensRange: Range<Int>?
        /// Where the top-level object's members start (just after its `{`), to insert one.
        var membersStart = 0
    }

    /// Why a body is not JSON.
    struct Invalid: Error {
        var offset: Int
        var reason: String
    }

    private let bytes: UnsafeRawBufferPointer
    private var i = 0
    private var depth = 0

    private init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    /// Scans `buffer`; throws ``Invalid`` when it is not one JSON object.
    static func scan(_ buffer: ByteBuffer) throws(Invalid) -> Fields {
        let result: Result<Fields, Invalid> = buffer.withUnsafeReadableBytes { raw in
            var scanner = ChatRequestScanner(raw)
            do throws(Invalid) {
                return .success(try scanner.document())
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// A JSON value's bytes as a number; nil for anything else (`null`, a string).
    private static func number(_ text: Slice<UnsafeRawBufferPointer>) -> Double? {
        Double(String(decoding: text, as: UTF8.self))
    }

    // MARK: grammar

    private mutating func document() throws(Invalid) -> Fields {
        skipSpace()
        guard peek() == UInt8(ascii: "{") else { throw fail("the top level is not an object") }
        var fields = Fields()
        try object(top: &fields)
        skipSpace()
        guard i == bytes.count else { throw fail("text after the object") }
        return fields
    }

    private mutating func object(top: inout Fields) throws(Invalid) {
        try object(collect: true, fields: &top)
    }

    private mutating func object(collect: Bool, fields: inout Fields) throws(Invalid) {
        i += 1  // {
        if collect { fields.sampling.membersStart = i }
        try enter()
        skipSpace()
        if peek() == UInt8(ascii: "}") {
            i += 1
            depth -= 1
            return
        }
        while true {
            skipSpace()
            guard peek() == UInt8(ascii: "\"") else { throw fail("expected a key") }
            let keyStart = i
            try string()
            let key = bytes[(keyStart + 1)..<(i - 1)]
            skipSpace()
            guard peek() == UInt8(ascii: ":") else { throw fail("expected ':'") }
            i += 1
            skipSpace()
            if collect, key.elementsEqual("model".utf8) {
                let start = i
                if peek() == UInt8(ascii: "\"") {
                    try string()
                    fields.model = Self.decodeString(bytes[(start + 1)..<(i - 1)])
                    fields.modelRange = start..<i
                    fields.modelNotString = false
                } else {
                    try value()
                    fields.model = nil
                    fields.modelRange = nil
                    fields.modelNotString = true
                }
            } else if collect, key.elementsEqual("stream".utf8) {
                let start = i
                try value()
                let v = bytes[start..<i]
                fields.streamInvalid = false
                if v.elementsEqual("true".utf8) {
                    fields.stream = true
                } else if v.elementsEqual("false".utf8) {
                    fields.stream = false
                } else if v.elementsEqual("null".utf8) {
                    fields.stream = nil
                } else {
                    fields.streamInvalid = true
                }
            } else if collect, key.elementsEqual("temperature".utf8) {
                let start = i
                try value()
                fields.sampling.temperature = Self.number(bytes[start..<i])
                fields.sampling.temperatureRange = start..<i
            } else if collect, key.elementsEqual("top_p".utf8) {
                let start = i
                try value()
                fields.sampling.topP = Self.number(bytes[start..<i])
                fields.sampling.topPRange = start..<i
            } else if collect, key.elementsEqual("max_tokens".utf8) || key.elementsEqual("max_completion_tokens".utf8) {
                let start = i
                try value()
                fields.sampling.maxTokens = Self.number(bytes[start..<i])
                fields.sampling.maxTokensRange = start..<i
            } else if collect, key.elementsEqual("messages".utf8) {
                if peek() == UInt8(ascii: "[") {
                    fields.messageCount = try array()
                } else {
                    try value()
                    fields.messageCount = -1
                }
            } else {
                try value()
            }
            skipSpace()
            switch peek() {
            case UInt8(ascii: ","): i += 1
            case UInt8(ascii: "}"):
                i += 1
                depth -= 1
                return
            default: throw fail("expected ',' or '}'")
            }
        }
    }

    /// Returns the element count.
    @discardableResult
    private mutating func array() throws(Invalid) -> Int {
        i += 1  // [
        try enter()
        skipSpace()
        if peek() == UInt8(ascii: "]") {
            i += 1
            depth -= 1
            return 0
        }
        var count = 0
        while true {
            skipSpace()
            try value()
            count += 1
            skipSpace()
            switch peek() {
            case UInt8(ascii: ","): i += 1
            case UInt8(ascii: "]"):
                i += 1
                depth -= 1
                return count
            default: throw fail("expected ',' or ']'")
            }
        }
    }

    private mutating func value() throws(Invalid) {
        guard let c = peek() else { throw fail("expected a value") }
        switch c {
        case UInt8(ascii: "{"):
            var ignored = Fields()
            try object(collect: false, fields: &ignored)
        case UInt8(ascii: "["): try array()
        case UInt8(ascii: "\""): try string()
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try number()
        default: throw fail("expected a value")
        }
    }

    private mutating func string() throws(Invalid) {
        i += 1  // opening quote
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: "\"") {
                i += 1
                return
            }
            if c < 0x20 { throw fail("control character in a string") }
            if c == UInt8(ascii: "\\") {
                i += 1
                guard i < bytes.count else { break }
                switch bytes[i] {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                    UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    i += 1
                case UInt8(ascii: "u"):
                    let unit = try hexEscape(at: i)
                    i += 5
                    // Surrogates must come in pairs (as JSONSerialization also insists).
                    if (0xDC00..<0xE000).contains(unit) { throw fail("lone low surrogate") }
                    if (0xD800..<0xDC00).contains(unit) {
                        guard i + 1 < bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u"),
                              (0xDC00..<0xE000).contains(try hexEscape(at: i + 1))
                        else { throw fail("lone high surrogate") }
                        i += 6
                    }
                default: throw fail("bad escape")
                }
                continue
            }
            i += 1
        }
        throw fail("unterminated string")
    }

    /// The value of the four hex digits after the `u` at `at`.
    private func hexEscape(at: Int) throws(Invalid) -> UInt32 {
        guard at + 4 < bytes.count else { throw fail("bad \\u escape") }
        var value: UInt32 = 0
        for k in 1...4 {
            guard let h = Self.hexValue(bytes[at + k]) else { throw fail("bad \\u escape") }
            value = value << 4 | h
        }
        return value
    }

    private mutating func number() throws(Invalid) {
        let start = i
        try numberGrammar()
        // Out of Double's range is refused, as JSONSerialization does (checked only for
        // exponents and long mantissas, which are rare in requests).
        let text = bytes[start..<i]
        if text.count > 15 || text.contains(where: { $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }) {
            guard let v = Double(String(decoding: text, as: UTF8.self)), v.isFinite else { throw fail("number out of range") }
        }
    }

    private mutating func numberGrammar() throws(Invalid) {
        if peek() == UInt8(ascii: "-") { i += 1 }
        guard let first = peekDigit() else { throw fail("bad number") }
        i += 1
        if first != 0 { while peekDigit() != nil { i += 1 } }
        if peek() == UInt8(ascii: ".") {
            i += 1
            guard peekDigit() != nil else { throw fail("bad number") }
            while peekDigit() != nil { i += 1 }
        }
        if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
            i += 1
            if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { i += 1 }
            guard peekDigit() != nil else { throw fail("bad number") }
            while peekDigit() != nil { i += 1 }
        }
    }

    private mutating func literal(_ word: StaticString) throws(Invalid) {
        let n = word.utf8CodeUnitCount
        guard i + n <= bytes.count else { throw fail("bad literal") }
        for k in 0..<n where bytes[i + k] != word.utf8Start[k] { throw fail("bad literal") }
        i += n
    }

    // MARK: helpers

    private mutating func enter() throws(Invalid) {
        depth += 1
        guard depth <= Self.maxDepth else { throw fail("nested deeper than \(Self.maxDepth)") }
    }

    private func peek() -> UInt8? { i < bytes.count ? bytes[i] : nil }

    private func peekDigit() -> UInt8? {
        guard let c = peek(), c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") else { return nil }
        return c - UInt8(ascii: "0")
    }

    private mutating func skipSpace() {
        while i < bytes.count {
            switch bytes[i] {
            case 0x20, 0x0A, 0x0D, 0x09: i += 1
            default: return
            }
        }
    }

    private func fail(_ reason: String) -> Invalid { Invalid(offset: i, reason: reason) }

    static func hexValue(_ c: UInt8) -> UInt32? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(c - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(c - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(c - UInt8(ascii: "A") + 10)
        default: nil
        }
    }

    /// The text of a string's contents (escapes resolved, surrogate pairs joined, lone
    /// surrogates and invalid UTF-8 replaced by U+FFFD).
    static func decodeString(_ raw: Slice<UnsafeRawBufferPointer>) -> String {
        if !raw.contains(UInt8(ascii: "\\")) { return String(decoding: raw, as: UTF8.self) }
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var k = raw.startIndex
        func hex4(_ at: Int) -> UInt32 {
            (0..<4).reduce(0) { $0 << 4 | (hexValue(raw[at + $1]) ?? 0) }
        }
        func append(_ scalar: UInt32) {
            let s = Unicode.Scalar(scalar) ?? "\u{FFFD}"
            out.append(contentsOf: Array(String(Character(s)).utf8))
        }
        while k < raw.endIndex {
            let c = raw[k]
            guard c == UInt8(ascii: "\\") else {
                out.append(c)
                k += 1
                continue
            }
            let e = raw[k + 1]
            k += 2
            switch e {
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                let unit = hex4(k)
                k += 4
                if (0xD800..<0xDC00).contains(unit), k + 6 <= raw.endIndex, raw[k] == UInt8(ascii: "\\"), raw[k + 1] == UInt8(ascii: "u") {
                    let low = hex4(k + 2)
                    if (0xDC00..<0xE000).contains(low) {
                        k += 6
                        append(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))
                        continue
                    }
                }
                append(unit)
            default: out.append(e)  // \" \\ \/
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
