/// Hand-written JSON output shared by the reports that keep a fixed key order (which
/// `JSONEncoder` does not promise), so equal input gives byte-identical output.
package enum JSONText {
    /// A JSON string literal: quotes, backslashes and control characters escaped, every other
    /// character kept as UTF-8.
    package static func quote(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
