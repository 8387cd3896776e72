import CopilotCore

/// The consensus aggregator as the Python prototype wrote it: lowercase the text, split it
/// into word strings, build a set of n-gram strings per answer, compute every pair's Jaccard
/// index with set intersection and union, then flood-fill the groups. O(n² w) set work.
///
/// The n-gram strings are built once per answer and carry their hash (``NgramString``), as
/// CPython's `str` caches its hash: a `Set<String>` would rehash every string's bytes in each
/// intersection and union, which made this baseline slower than the prototype it stands for.
///
/// It follows ``ConsensusReport``'s definitions step for step (same sums in the same order),
/// so the optimized ``ConsensusAggregator`` must give the same report; the tests check that.
/// Factual answers use CopilotCore's `FactualExtractor` (one set of extraction rules, tested
/// on its own); the vote on the extracted values is done here again, plainly.
public struct ReferenceConsensusAggregator: ConsensusAggregating {
    /// The tuning in use.
    public let options: ConsensusOptions

    /// Creates the reference aggregator.
    public init(options: ConsensusOptions = .defaults) {
        self.options = options
    }

    /// `re.findall(r"\w+", text.lower())`, with ``ConsensusText``'s idea of a word character.
    /// `lowercased()` applies each scalar's full lowercase mapping, as ``ConsensusText`` rule 3
    /// asks, in one pass over the text like Python's `str.lower()`.
    static func tokenize(_ text: String) -> [String] {
        let lowered = ConsensusText.canonical(text).lowercased()
        return lowered.unicodeScalars.split(whereSeparator: { !ConsensusText.isWordScalar($0) }).map { String($0) }
    }

    static let stopwords = Set(ConsensusText.stopwords)

    /// `{" ".join(content[i:i + n]) for n in ... for i in ...}`: each n-gram string built and
    /// hashed once.
    func ngrams(_ tokens: [String]) -> Set<NgramString> {
        var words = tokens
        if options.removeStopwords {
            let content = tokens.filter { !Self.stopwords.contains($0) }
            if !content.isEmpty { words = content }
        }
        var grams = Set<NgramString>()
        for n in 1...max(1, options.ngramSize) where words.count >= n {
            for i in 0...(words.count - n) {
                grams.insert(NgramString(words[i..<(i + n)].joined(separator: " ")))
            }
        }
        return grams
    }

    /// The prototype had no question (it had no claim rules, the question's only use): the
    /// report for `answers` alone.
    public func aggregate(_ answers: [ExpertAnswer], question: String?) throws -> ConsensusReport {
        try aggregate(answers)
    }

    public func aggregate(_ answers: [ExpertAnswer]) throws -> ConsensusReport {
        let tokens = answers.map { Self.tokenize($0.text) }
        let included = answers.indices.filter { !tokens[$0].isEmpty }
        let excluded = answers.indices.filter { tokens[$0].isEmpty }
        if included.isEmpty { throw ConsensusError.noUsableAnswers }

        let maxWeight = included.map { answers[$0].weight }.max() ?? 0
        if !(maxWeight > 0) || !maxWeight.isFinite { throw ConsensusError.zeroTotalWeight }
        let masses = included.map { (answers[$0].weight / maxWeight) * answers[$0].confidence }
        if masses.allSatisfy({ $0 == 0 }) { throw ConsensusError.zeroTotalWeight }

        // Factual or text mode.
        var mode = options.mode
        var values: [String?] = []
        var keys: [String] = []
        let longest = included.map { tokens[$0].count }.max() ?? 0
        if mode == .factual || (mode == .auto && longest <= options.factualMaxWords) {
            let facts = included.map { FactualExtractor.extract(answers[$0].text) }
            var counts: [(FactualKind, Int)] = []
            for kind in FactualKind.allCases {
                counts.append((kind, facts.filter { $0[kind] != nil }.count))
            }
            // max(by:) keeps the last of equal maxima; scan for the first instead.
            var best = counts[0]
            for entry in counts where entry.1 > best.1 { best = entry }
            let usable = mode == .factual ? best.1 > 0 : best.1 * 2 > facts.count
            if usable || mode == .factual {
                mode = .factual
                values = facts.map { usable ? $0[best.0] : nil }
                if usable && best.0 == .number {
                    values = FactualExtractor.unitValues(included.map { answers[$0].text }, values: values)
                }
                for (k, index) in included.enumerated() {
                    let value = values[k]
                    if let value {
                        keys.append(best.0.name + ":" + value)
                    } else {
                        keys.append("text:" + tokens[index].joined(separator: " "))
                    }
                }
            } else {
                mode = .text
            }
        } else {
            mode = .text
        }

        let n = included.count
        var similarity = [[Double]](repeating: [Double](repeating: 0, count: n), count: n)
        if mode == .factual {
            for i in 0..<n {
                for j in 0..<n { similarity[i][j] = keys[i] == keys[j] ? 1 : 0 }
            }
        } else {
            let grams = included.map { ngrams(tokens[$0]) }
            for i in 0..<n {
                similarity[i][i] = 1
                for j in (i + 1)..<max(i + 1, n) {
                    let common = grams[i].intersection(grams[j]).count
                    let all = grams[i].union(grams[j]).count
                    similarity[i][j] = all == 0 ? 0 : Double(common) / Double(all)
                    similarity[j][i] = similarity[i][j]
                }
            }
        }

        // Groups: flood fill over links.
        func linked(_ i: Int, _ j: Int) -> Bool {
            mode == .factual ? similarity[i][j] == 1 : similarity[i][j] >= options.threshold
        }
        var group = [Int](repeating: -1, count: n)
        var groups: [[Int]] = []
        for start in 0..<n where group[start] == -1 {
            var members = [start]
            group[start] = groups.count
            var queue = [start]
            while let current = queue.popLast() {
                for other in 0..<n where group[other] == -1 && linked(min(current, other), max(current, other)) {
                    group[other] = groups.count
                    members.append(other)
                    queue.append(other)
                }
            }
            groups.append(members.sorted())
        }

        var total = 0.0
        for m in masses { total += m }
        var support: [Double] = []
        for i in 0..<n {
            var agreeing = 0.0
            for j in 0..<n { agreeing += masses[j] * similarity[i][j] }
            support.append(agreeing / total)
        }
        var groupMass: [Double] = []
        for members in groups {
            var sum = 0.0
            for i in members { sum += masses[i] }
            groupMass.append(sum)
        }
        var winner = 0
        for g in groups.indices where groupMass[g] > groupMass[winner] { winner = g }
        let members = groups[winner]
        var best = members[0]
        for i in members where support[i] > support[best] || (support[i] == support[best] && masses[i] > masses[best]) {
            best = i
        }

        var pairWeight = 0.0, pairAgreement = 0.0
        for a in 0..<members.count {
            for b in (a + 1)..<max(a + 1, members.count) {
                let i = members[a], j = members[b]
                let w = masses[i] * masses[j]
                pairWeight += w
                pairAgreement += w * (options.threshold > 0 ? min(1, similarity[i][j] / options.threshold) : 1)
            }
        }
        let cohesion = pairWeight > 0 ? pairAgreement / pairWeight : 1
        var agreement = groupMass[winner] / total * cohesion
        agreement = min(1, max(0, agreement))

        return ConsensusReport(
            mode: mode, included: included, excluded: excluded, support: support, group: group,
            similarity: similarity.flatMap { $0 }, consensusIndex: included[best], winningGroup: winner,
            agreement: agreement, dissent: (0..<n).filter { group[$0] != winner }.map { included[$0] },
            values: mode == .factual ? values : [], answer: mode == .factual ? values[best] : nil)
    }
}

/// An n-gram string with its hash computed once, like a CPython `str` (whose hash is cached in
/// the object): sets of these probe with that hash in each intersection and union instead of
/// hashing the string's bytes again. Equality is the string's.
struct NgramString: Hashable {
    /// The n-gram, words joined by one space.
    let text: String
    /// `text.hashValue`, computed once.
    let hash: Int

    init(_ text: String) {
        self.text = text
        hash = text.hashValue
    }

    static func == (a: NgramString, b: NgramString) -> Bool {
        a.hash == b.hash && a.text == b.text
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(hash)
    }

    /// What `Set` asks for each probe: the cached hash mixed with the table's seed, without
    /// running `Hasher` again (CPython probes with the cached hash itself).
    func _rawHashValue(seed: Int) -> Int {
        hash ^ seed
    }
}
