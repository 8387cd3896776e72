extension SpeechGroup {
    /// `segment` placed back on the input by its `words` (times in seconds of the joined
    /// signal): each word goes to the region it overlaps most (the nearest when it lies in a
    /// gap; a word of no duration with the next word; never before the previous word's), the segment is cut between words where the
    /// region changes, and every time is moved onto its region and clamped inside it, so no
    /// word or segment spans a pause or leaves the file. Tokens are cut at the same words.
    package func place(_ segment: WhisperSegment, words: [WhisperWord], sampleRate: Int, text: ([Int]) -> String) -> [WhisperSegment] {
        let rate = Double(sampleRate)
        func lower(_ i: Int) -> Double { Double(joinedStarts[i]) / rate }
        func upper(_ i: Int) -> Double { lower(i) + Double(regions[i].count) / rate }
        func original(_ t: Double, _ i: Int) -> Double {
            Double(regions[i].lowerBound) / rate + (min(max(t, lower(i)), upper(i)) - lower(i))
        }
        func region(of word: WhisperWord) -> Int {
            var best = (index: 0, overlap: -Double.infinity)
            for i in regions.indices {
                // Overlap when positive, else minus the distance to the region.
                let overlap = min(word.end, upper(i)) - max(word.start, lower(i))
                if overlap > best.overlap { best = (i, overlap) }
            }
            return best.index
        }
        // A word of no duration (DTW gave its frames to a neighbour) has no place of its own:
        // it goes with the next word that has one (tiny.en's first word after a pause can end
        // where the last word before the pause ends), else with the one before it.
        let own = words.map { $0.end > $0.start ? region(of: $0) : nil }
        var assigned: [Int] = []
        for k in words.indices {
            let choice = own[k] ?? own[k...].lazy.compactMap { $0 }.first ?? assigned.last ?? region(of: words[k])
            assigned.append(max(assigned.last ?? 0, choice))
        }
        // Token positions: the cut after a word lies after its last text token.
        var cutAfterWord: [Int] = []
        var position = 0
        for word in words {
            var remaining = word.tokens.count
            while remaining > 0 && position < segment.tokens.count {
                if segment.tokens[position] < WhisperSpecialTokens.englishOnly.endOfText { remaining -= 1 }
                position += 1
            }
            cutAfterWord.append(position)
        }
        var placed: [WhisperSegment] = []
        var first = 0
        while first < words.count {
            var last = first
            while last + 1 < words.count && assigned[last + 1] == assigned[first] { last += 1 }
            let i = assigned[first]
            var piece = segment
            let from = first == 0 ? 0 : cutAfterWord[first - 1]
            let to = last == words.count - 1 ? segment.tokens.count : cutAfterWord[last]
            piece.tokens = Array(segment.tokens[from..<to])
            piece.text = text(piece.tokens)
            let moved = words[first...last].map { word in
                var word = word
                word.start = original(word.start, i)
                word.end = original(word.end, i)
                return word
            }
            piece.words = moved
            let firstStart = moved[0].start, lastEnd = moved[moved.count - 1].end
            piece.start = min(first == 0 ? original(segment.start, i) : firstStart, firstStart)
            piece.end = max(last == words.count - 1 ? original(segment.end, i) : lastEnd, lastEnd)
            if !piece.text.trimmingWhitespace().isEmpty && piece.start < piece.end { placed.append(piece) }
            first = last + 1
        }
        return placed
    }
}
