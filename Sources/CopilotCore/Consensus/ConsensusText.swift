import Foundation

/// The text rules both aggregators follow, so the optimized one and CopilotReference tokenize
/// the same way:
///
/// 1. Non-ASCII text is put in Unicode NFC form first (canonically equal spellings such as a
///    precomposed and a decomposed "é" become the same bytes).
/// 2. A word is a maximal run of word scalars: letters (Unicode Alphabetic), digits and other
///    numbers, and combining marks. Everything else (spaces, punctuation of any script,
///    symbols, `_`) separates words.
/// 3. Each scalar is lowercased with its full Unicode lowercase mapping ("Straße" stays
///    "straße", "ΣΟΦΊΑ" becomes "σοφία"; no context rules such as final sigma).
package enum ConsensusText {
    /// `text` in NFC; ASCII text is returned unchanged (it already is NFC).
    package static func canonical(_ text: String) -> String {
        if text.utf8.allSatisfy({ $0 < 0x80 }) { return text }
        return text.precomposedStringWithCanonicalMapping
    }

    /// Whether `scalar` belongs inside a word (rule 2).
    package static func isWordScalar(_ scalar: Unicode.Scalar) -> Bool {
        let v = scalar.value
        if v < 0x80 {
            return (v >= 0x30 && v <= 0x39) || (v >= 0x41 && v <= 0x5A) || (v >= 0x61 && v <= 0x7A)
        }
        let properties = scalar.properties
        if properties.isAlphabetic { return true }
        switch properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber, .nonspacingMark, .spacingMark, .enclosingMark:
            return true
        default:
            return false
        }
    }

    /// The words of `text` (rules 1-3), as strings. Plain and allocating; the optimized
    /// aggregator hashes bytes instead and only uses this for short factual answers.
    package static func words(_ text: String) -> [String] {
        var words: [String] = []
        var current = ""
        for scalar in canonical(text).unicodeScalars {
            if isWordScalar(scalar) {
                current += scalar.properties.lowercaseMapping
            } else if !current.isEmpty {
                words.append(current)
                current = ""
            }
        }
        if !current.isEmpty { words.append(current) }
        return words
    }

    /// Common English function words, left out of the n-grams when `removeStopwords` is on
    /// (an answer made only of them keeps them all). Lowercase, one word each.
    package static let stopwords: [String] = [
        "a", "about", "above", "after", "again", "against", "all", "also", "am", "an", "and", "any",
        "are", "as", "at", "be", "because", "been", "before", "being", "below", "between", "both",
        "but", "by", "can", "could", "did", "do", "does", "doing", "down", "during", "each", "few",
        "for", "from", "further", "had", "has", "have", "having", "he", "her", "here", "hers",
        "herself", "him", "himself", "his", "how", "i", "if", "in", "into", "is", "it", "its",
        "itself", "just", "me", "more", "most", "my", "myself", "no", "nor", "not", "now", "of",
        "off", "on", "once", "only", "or", "other", "our", "ours", "ourselves", "out", "over", "own",
        "s", "same", "she", "should", "so", "some", "such", "t", "than", "that", "the", "their",
        "theirs", "them", "themselves", "then", "there", "these", "they", "this", "those", "through",
        "to", "too", "under", "until", "up", "very", "was", "we", "were", "what", "when", "where",
        "which", "while", "who", "whom", "why", "will", "with", "would", "you", "your", "yours",
        "yourself", "yourselves",
    ]
}
