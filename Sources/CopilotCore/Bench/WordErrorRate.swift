/// Word error rate for transcription tests and `copilot bench`: (substitutions + deletions + insertions) divided
/// by the number of reference words, after normalising both texts the same way
/// `benchmarks/transcribe_peers.py` does (lowercase; every character that is not a letter, a
/// digit or an apostrophe becomes a space; apostrophes at word edges dropped).
package enum WordErrorRate {
    /// The normalised words of `text`.
    package static func words(_ text: String) -> [String] {
        let cleaned = String(text.lowercased().map { $0.isLetter || $0.isNumber || $0 == "'" ? $0 : " " })
        return cleaned.split(separator: " ").map { $0.trimmingCharacters(in: "'") }.filter { !$0.isEmpty }
    }

    /// WER of `hypothesis` against `reference`. With an empty reference the rate is undefined;
    /// it is then the number of hypothesis words (0 when both are empty).
    package static func rate(reference: String, hypothesis: String) -> Double {
        let ref = words(reference), hyp = words(hypothesis)
        let edits = editDistance(ref, hyp)
        return ref.isEmpty ? Double(edits) : Double(edits) / Double(ref.count)
    }

    /// Levenshtein distance between word sequences (unit costs), O(n * m) time, O(m) memory.
    package static func editDistance(_ a: [String], _ b: [String]) -> Int {
        guard !a.isEmpty else { return b.count }
        guard !b.isEmpty else { return a.count }
        var previous = Array(0...b.count)
        var current = previous
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
                current[j] = min(substitution, previous[j] + 1, current[j - 1] + 1)
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in set: Character) -> String {
        var s = self
        while s.first == set { s = s.dropFirst() }
        while s.last == set { s = s.dropLast() }
        return String(s)
    }
}
