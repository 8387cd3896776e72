import Foundation

/// Reads expert answers from JSON Lines (one object per line) or one JSON array of objects,
/// told apart by the first non-blank byte (`[` means an array).
///
/// Each object: `{"expert": "...", "text": "...", "weight": 1.0, "confidence": 0.9}`.
/// `text` is required (a string; an empty one is accepted here and left out of the vote by
/// the aggregator). `expert` defaults to `#N`, the answer's 1-based position. `weight` must be
/// finite and >= 0 (absent or null: 1); `confidence` must be in [0, 1] (absent or null: 1).
/// Other keys are ignored. The input must be UTF-8 (a leading byte-order mark is skipped);
/// every error names the line.
package enum ConsensusInput {
    /// Reads `path` (`nil` or `-` means stdin, which must not be a terminal) and parses it.
    package static func read(path: String?) throws -> [ExpertAnswer] {
        let source = sourceName(path)
        let data: Data
        if let path, path != "-" {
            do {
                data = try Data(contentsOf: URL(fileURLWithPath: path))
            } catch {
                throw ConsensusError.unreadable(source: path, reason: "no such file or not readable")
            }
        } else {
            // Waiting on a terminal would look like a hang; a pipe or file is expected.
            if isatty(STDIN_FILENO) != 0 { throw ConsensusError.stdinIsTerminal }
            data = FileHandle.standardInput.readDataToEndOfFile()
        }
        return try parse(Array(data), source: source)
    }

    /// How `path` is named in messages: the path, or `stdin`.
    package static func sourceName(_ path: String?) -> String {
        guard let path, path != "-" else { return "stdin" }
        return path
    }

    /// Parses answers from raw bytes; `source` names the input in errors.
    package static func parse(_ bytes: [UInt8], source: String) throws -> [ExpertAnswer] {
        var start = 0
        if bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF { start = 3 }
        if let bad = firstInvalidUTF8Offset(bytes, from: start) {
            let line = 1 + bytes[start..<bad].reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
            throw ConsensusError.notUTF8(source: source, line: line)
        }
        var parser = JSONScanner(bytes: bytes, position: start, source: source)
        var objects: [(line: Int, fields: [(String, JSONValue)])] = []
        parser.skipWhitespace()
        if parser.atEnd { throw ConsensusError.noAnswers(source: source) }
        if parser.peek == UInt8(ascii: "[") {
            guard case .array(let items) = try parser.parseValue() else {
                throw parser.error("expected a JSON array")
            }
            parser.skipWhitespace()
            if !parser.atEnd { throw parser.error("extra text after the JSON array") }
            for item in items {
                guard case .object(let fields) = item.value else {
                    throw ConsensusError.malformedJSON(
                        source: source, line: item.line,
                        reason: "expected an answer object {\"expert\": ..., \"text\": ...}, found \(item.value.kindName)")
                }
                objects.append((item.line, fields))
            }
        } else {
            while true {
                parser.skipWhitespace()
                if parser.atEnd { break }
                let line = parser.line
                guard parser.peek == UInt8(ascii: "{") else {
                    throw parser.error("expected an answer object {\"expert\": ..., \"text\": ...} (JSON Lines: one object per line)")
                }
                // JSON Lines: each object is read within its own line, so errors name that line.
                let lineEnd = bytes[parser.position...].firstIndex(of: 0x0A) ?? bytes.count
                parser.end = lineEnd
                guard case .object(let fields) = try parser.parseValue() else {
                    throw parser.error("expected an answer object")
                }
                parser.skipSpacesOnLine()
                if !parser.atEnd {
                    throw parser.error("extra text after the answer object; put one JSON object per line")
                }
                parser.end = bytes.count
                objects.append((line, fields))
            }
        }
        if objects.isEmpty { throw ConsensusError.noAnswers(source: source) }
        return try objects.enumerated().map { index, object in
            try answer(from: object.fields, position: index + 1, line: object.line, source: source)
        }
    }

    private static func answer(from fields: [(String, JSONValue)], position: Int, line: Int, source: String) throws -> ExpertAnswer {
        var byKey: [String: JSONValue] = [:]
        for (key, value) in fields {
            if byKey[key] != nil {
                throw ConsensusError.malformedJSON(source: source, line: line, reason: "duplicate key \"\(key)\" in one answer")
            }
            byKey[key] = value
        }
        var expert = "#\(position)"
        var named: String?
        switch byKey["expert"] {
        case nil, .null?: break
        case .string(let name)?:
            expert = name
            named = name
        case let other?:
            throw ConsensusError.invalidField(
                source: source, line: line, expert: nil, field: "expert", reason: "must be a string, got \(other.kindName)")
        }
        let text: String
        switch byKey["text"] {
        case .string(let value)?: text = value
        case nil, .null?:
            throw ConsensusError.invalidField(
                source: source, line: line, expert: named, field: "text",
                reason: "is missing; every answer needs a \"text\" string")
        case let other?:
            throw ConsensusError.invalidField(
                source: source, line: line, expert: named, field: "text", reason: "must be a string, got \(other.kindName)")
        }
        let weight = try number(
            byKey["weight"], field: "weight", default: 1, valid: { $0.isFinite && $0 >= 0 },
            expectation: "must be a finite number >= 0", source: source, line: line, expert: named)
        let confidence = try number(
            byKey["confidence"], field: "confidence", default: 1, valid: { $0 >= 0 && $0 <= 1 },
            expectation: "must be a number in [0, 1]", source: source, line: line, expert: named)
        return ExpertAnswer(expert: expert, text: text, weight: weight, confidence: confidence, line: line)
    }

    private static func number(
        _ value: JSONValue?, field: String, default defaultValue: Double, valid: (Double) -> Bool,
        expectation: String, source: String, line: Int, expert: String?
    ) throws -> Double {
        switch value {
        case nil, .null?: return defaultValue
        case .number(let v, let raw)?:
            guard valid(v) else {
                throw ConsensusError.invalidField(
                    source: source, line: line, expert: expert, field: field,
                    reason: "\(expectation), got \(raw); fix it or drop the field (default \(Int(defaultValue)))")
            }
            return v
        case let other?:
            throw ConsensusError.invalidField(
                source: source, line: line, expert: expert, field: field,
                reason: "\(expectation), got \(other.kindName)")
        }
    }

    /// Offset of the first byte that is not part of well-formed UTF-8, or nil.
    static func firstInvalidUTF8Offset(_ bytes: [UInt8], from start: Int) -> Int? {
        var i = start
        let n = bytes.count
        while i < n {
            let b0 = bytes[i]
            if b0 < 0x80 {
                i += 1
                continue
            }
            let length: Int
            var minimum: UInt32
            var scalar: UInt32
            switch b0 {
            case 0xC2...0xDF: length = 2; minimum = 0x80; scalar = UInt32(b0 & 0x1F)
            case 0xE0...0xEF: length = 3; minimum = 0x800; scalar = UInt32(b0 & 0x0F)
            case 0xF0...0xF4: length = 4; minimum = 0x10000; scalar = UInt32(b0 & 0x07)
            default: return i
            }
            guard i + length <= n else { return i }
            for k in 1..<length {
                let b = bytes[i + k]
                guard b & 0xC0 == 0x80 else { return i }
                scalar = scalar << 6 | UInt32(b & 0x3F)
            }
            if scalar < minimum || scalar > 0x10FFFF || (0xD800...0xDFFF).contains(scalar) { return i }
            i += length
        }
        return nil
    }
}

/// A parsed JSON value (only what answer files need).
enum JSONValue {
    case null
    case bool(Bool)
    /// The value and its literal text (for messages).
    case number(Double, String)
    case string(String)
    /// Elements with the line each starts on.
    case array([(line: Int, value: JSONValue)])
    /// Members in input order.
    case object([(String, JSONValue)])

    var kindName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

/// A recursive-descent JSON reader over validated UTF-8 bytes that tracks the line number.
struct JSONScanner {
    let bytes: [UInt8]
    var position: Int
    let source: String
    var line = 1
    /// Reading stops here (the end of the current line for JSON Lines).
    var end: Int
    private var depth = 0
    /// Nesting deeper than this is refused rather than risking the stack.
    static let maxDepth = 64

    init(bytes: [UInt8], position: Int, source: String) {
        self.bytes = bytes
        self.position = position
        self.source = source
        self.end = bytes.count
    }

    var atEnd: Bool { position >= end }
    var peek: UInt8 { bytes[position] }

    /// An error at the current line; at the end of the input, the line of the last text
    /// (not the empty line after a final newline).
    func error(_ reason: String) -> ConsensusError {
        var reported = line
        if atEnd {
            var i = min(position, bytes.count) - 1
            while i >= 0, [0x20, 0x09, 0x0D, 0x0A].contains(bytes[i]) {
                if bytes[i] == 0x0A { reported -= 1 }
                i -= 1
            }
        }
        return .malformedJSON(source: source, line: max(1, reported), reason: atEnd && end < bytes.count ? reason.replacingOccurrences(of: "end of input", with: "end of line") + "; JSON Lines needs each object on one line" : reason)
    }

    mutating func skipWhitespace() {
        while position < end {
            switch bytes[position] {
            case 0x0A: line += 1
            case 0x20, 0x09, 0x0D: break
            default: return
            }
            position += 1
        }
    }

    mutating func skipSpacesOnLine() {
        while position < end, bytes[position] == 0x20 || bytes[position] == 0x09 || bytes[position] == 0x0D {
            position += 1
        }
    }

    mutating func parseValue() throws -> JSONValue {
        skipWhitespace()
        guard !atEnd else { throw error("unexpected end of input; a value is missing") }
        switch peek {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw error("unexpected character \(describe(peek))")
        }
    }

    private func describe(_ byte: UInt8) -> String {
        byte >= 0x20 && byte < 0x7F ? "'\(Character(Unicode.Scalar(byte)))'" : String(format: "0x%02X", byte)
    }

    private mutating func expectLiteral(_ word: String) throws {
        for expected in word.utf8 {
            guard !atEnd, peek == expected else { throw error("invalid literal; expected \(word)") }
            position += 1
        }
    }

    private mutating func enter() throws {
        depth += 1
        if depth > Self.maxDepth { throw error("nesting deeper than \(Self.maxDepth) levels") }
    }

    private mutating func parseObject() throws -> JSONValue {
        try enter()
        defer { depth -= 1 }
        position += 1
        var members: [(String, JSONValue)] = []
        skipWhitespace()
        if !atEnd && peek == UInt8(ascii: "}") {
            position += 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard !atEnd, peek == UInt8(ascii: "\"") else { throw error("expected a quoted key in the object") }
            let key = try parseString()
            skipWhitespace()
            guard !atEnd, peek == UInt8(ascii: ":") else { throw error("expected ':' after key \"\(key)\"") }
            position += 1
            let value = try parseValue()
            members.append((key, value))
            skipWhitespace()
            guard !atEnd else { throw error("unexpected end of input inside an object; a '}' is missing") }
            if peek == UInt8(ascii: ",") {
                position += 1
                continue
            }
            if peek == UInt8(ascii: "}") {
                position += 1
                return .object(members)
            }
            throw error("expected ',' or '}' in the object, found \(describe(peek))")
        }
    }

    private mutating func parseArray() throws -> JSONValue {
        try enter()
        defer { depth -= 1 }
        position += 1
        var items: [(line: Int, value: JSONValue)] = []
        skipWhitespace()
        if !atEnd && peek == UInt8(ascii: "]") {
            position += 1
            return .array(items)
        }
        while true {
            skipWhitespace()
            let itemLine = line
            items.append((itemLine, try parseValue()))
            skipWhitespace()
            guard !atEnd else { throw error("unexpected end of input inside an array; a ']' is missing") }
            if peek == UInt8(ascii: ",") {
                position += 1
                continue
            }
            if peek == UInt8(ascii: "]") {
                position += 1
                return .array(items)
            }
            throw error("expected ',' or ']' in the array, found \(describe(peek))")
        }
    }

    private mutating func parseString() throws -> String {
        position += 1
        var out: [UInt8] = []
        while true {
            guard !atEnd else { throw error("unterminated string; a closing '\"' is missing") }
            let b = peek
            position += 1
            switch b {
            case UInt8(ascii: "\""):
                return String(decoding: out, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard !atEnd else { throw error("unterminated escape in string") }
                let e = peek
                position += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalarValue = try parseHex4()
                    if (0xD800...0xDBFF).contains(scalarValue) {
                        guard position + 1 < end, bytes[position] == UInt8(ascii: "\\"),
                            bytes[position + 1] == UInt8(ascii: "u")
                        else { throw error("lone UTF-16 surrogate in \\u escape") }
                        position += 2
                        let low = try parseHex4()
                        guard (0xDC00...0xDFFF).contains(low) else { throw error("invalid UTF-16 surrogate pair in \\u escape") }
                        scalarValue = 0x10000 + ((scalarValue - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00...0xDFFF).contains(scalarValue) {
                        throw error("lone UTF-16 surrogate in \\u escape")
                    }
                    guard let scalar = Unicode.Scalar(scalarValue) else { throw error("invalid \\u escape") }
                    out.append(contentsOf: Array(String(Character(scalar)).utf8))
                default:
                    throw error("invalid escape \\\(describe(e)) in string")
                }
            case 0x00..<0x20:
                throw error("raw control character in a string (a line break inside quotes?); write it as \\n")
            default:
                out.append(b)
            }
        }
    }

    private mutating func parseHex4() throws -> UInt32 {
        guard position + 4 <= end else { throw error("truncated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let b = peek
            let digit: UInt32
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(b - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(b - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(b - UInt8(ascii: "A") + 10)
            default: throw error("invalid hex digit in \\u escape")
            }
            value = value << 4 | digit
            position += 1
        }
        return value
    }

    private mutating func parseNumber() throws -> JSONValue {
        let start = position
        func digits() -> Int {
            let s = position
            while !atEnd, peek >= UInt8(ascii: "0"), peek <= UInt8(ascii: "9") { position += 1 }
            return position - s
        }
        if peek == UInt8(ascii: "-") { position += 1 }
        guard !atEnd, peek >= UInt8(ascii: "0"), peek <= UInt8(ascii: "9") else { throw error("invalid number") }
        if peek == UInt8(ascii: "0") {
            position += 1
        } else {
            _ = digits()
        }
        if !atEnd, peek == UInt8(ascii: ".") {
            position += 1
            guard digits() > 0 else { throw error("invalid number: digits must follow '.'") }
        }
        if !atEnd, peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
            position += 1
            if !atEnd, peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { position += 1 }
            guard digits() > 0 else { throw error("invalid number: digits must follow the exponent") }
        }
        let raw = String(decoding: bytes[start..<position], as: UTF8.self)
        guard let value = Double(raw) else { throw error("invalid number \(raw)") }
        return .number(value, raw)
    }
}
