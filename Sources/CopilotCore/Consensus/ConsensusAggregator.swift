/// The fast consensus aggregator (definitions in ``ConsensusReport``).
///
/// Text mode, for n answers of w words:
/// 1. every word is hashed once from its UTF-8 bytes (``WordHasher``), O(n w);
/// 2. word n-grams are hashed from the word hashes and interned in one open-addressing table,
///    which gives each answer its set of distinct feature ids and marks the features that
///    occur in two or more answers, O(n w);
/// 3. only shared features can be in an intersection, so each answer becomes a bitset over
///    the S shared features; |A ∩ B| is a popcount of ANDed words and
///    |A ∪ B| = |A| + |B| - |A ∩ B|, O(n² S / 64). When S / 64 would exceed an answer's
///    average count of shared features (hundreds of answers), sorted lists of shared feature
///    ids are merged instead, O(n² w), so the pair cost never grows faster than pairs x words;
/// 4. grouping, support and the vote are O(n²) on the matrix.
/// No MinHash: exact Jaccard over shared-feature bitsets costs fewer operations per pair than
/// comparing 128-value signatures, and has no estimation error to break ties differently
/// from CopilotReference.
/// Factual mode compares vote keys of short answers, O(n²).
///
/// Contradictions (`auto` mode, when it compares text): answers of at most `claimMaxWords` words are read for their
/// central claims (``ClaimExtractor``, O(characters) per short answer, nothing for long ones);
/// two answers that name different central values, or where one denies what the other
/// asserts, get similarity 0 and never share a position.
public struct ConsensusAggregator: ConsensusAggregating {
    /// The tuning in use.
    public let options: ConsensusOptions
    /// How pair intersections are counted; tests force each method, the default picks per input.
    package var intersection: IntersectionMethod = .automatic

    /// Pair intersection counting (step 3).
    package enum IntersectionMethod: Sendable {
        /// Bitsets while they are shorter than the average shared-feature list, else merging.
        case automatic
        /// Always bitsets with popcounts.
        case bitset
        /// Always merging of sorted shared-feature id lists.
        case sortedMerge
    }

    /// Creates an aggregator.
    public init(options: ConsensusOptions = .defaults) {
        self.options = options
    }

    public func aggregate(_ answers: [ExpertAnswer]) throws -> ConsensusReport {
        try aggregate(answers, question: nil)
    }

    /// The report for answers to `question`: names, numbers and dates the question uses are
    /// its topic, not an answer, when contradictions are looked for. Without a question the
    /// topic is the values every short answer names.
    public func aggregate(_ answers: [ExpertAnswer], question: String?) throws -> ConsensusReport {
        var capacity = 0
        for answer in answers { capacity += WordHasher.maxWords(answer.text) }
        var hashes: [UInt64] = scratchArray(count: capacity)
        var starts: [Int] = []
        var included: [Int] = []
        var excluded: [Int] = []
        var longest = 0
        var position = 0
        for (index, answer) in answers.enumerated() {
            let count = WordHasher.hashWords(of: answer.text, into: &hashes, at: position)
            if count == 0 {
                excluded.append(index)
            } else {
                included.append(index)
                starts.append(position)
                position += count
                longest = max(longest, count)
            }
        }
        guard !included.isEmpty else { throw ConsensusError.noUsableAnswers }
        starts.append(position)
        let masses = try ConsensusVote.masses(answers, included: included)

        var values: [String?] = []
        var mode = options.mode
        var keys: [String] = []
        if mode != .text && (mode == .factual || longest <= options.factualMaxWords) {
            let extracted = included.map { FactualExtractor.extract(answers[$0].text) }
            if let kind = ConsensusVote.dominantKind(extracted, requireMajority: mode == .auto) {
                mode = .factual
                values = extracted.map { $0[kind] }
                if kind == .number { values = FactualExtractor.unitValues(included.map { answers[$0].text }, values: values) }
                keys = zip(included, values).map { index, value in
                    value.map { "\(kind.name):\($0)" }
                        ?? "text:" + ConsensusText.words(answers[index].text).joined(separator: " ")
                }
            } else if mode == .factual {
                values = Array(repeating: nil, count: included.count)
                keys = included.map { "text:" + ConsensusText.words(answers[$0].text).joined(separator: " ") }
            } else {
                mode = .text
            }
        } else {
            mode = .text
        }

        var similarity: [Double]
        var relations = ClaimRelations()
        var claims: [AnswerClaims] = []
        if mode == .factual {
            let k = keys.count
            var matrix = [Double](repeating: 0, count: k * k)
            for i in 0..<k {
                for j in 0..<k where keys[i] == keys[j] { matrix[i * k + j] = 1 }
            }
            similarity = matrix
        } else {
            similarity = jaccardMatrix(hashes: hashes, starts: starts)
            let limit = options.claimMaxWords
            // `--mode text` stays the prototype's pure word comparison.
            if options.mode == .auto, limit > 0, starts.indices.dropLast().contains(where: { starts[$0 + 1] - starts[$0] <= limit }) {
                let texts = included.indices.map { k in starts[k + 1] - starts[k] <= limit ? answers[included[k]].text : nil }
                claims = ClaimExtractor.claims(of: texts, question: question)
                relations = ClaimExtractor.relations(claims)
            }
        }
        var report = ConsensusVote.resolve(
            mode: mode, included: included, excluded: excluded, masses: masses, similarity: similarity,
            threshold: options.threshold, values: values, relations: relations)
        if report.claimsDecided { report.claims = claims.map(\.labels) }
        return report
    }

    /// Jaccard similarity of the answers' n-gram sets (steps 2-3 above), row-major.
    /// `starts[a]..<starts[a + 1]` are answer a's word hashes; every answer has at least one.
    func jaccardMatrix(hashes: [UInt64], starts: [Int]) -> [Double] {
        let n = starts.count - 1
        let ngram = max(1, options.ngramSize)
        let totalWords = starts[n]

        // Content words (an answer made only of stopwords keeps them all).
        var kept: [UInt64] = scratchArray(count: max(1, totalWords))
        var keptStarts = [Int](repeating: 0, count: n + 1)
        hashes.withUnsafeBufferPointer { hashes in
            kept.withUnsafeMutableBufferPointer { kept in
                guard let src = hashes.baseAddress, let dst = kept.baseAddress else { return }
                var total = 0
                for a in 0..<n {
                    keptStarts[a] = total
                    let count = starts[a + 1] - starts[a]
                    var written = 0
                    if options.removeStopwords {
                        written = StopwordTable.english.copyContentWords(src + starts[a], count: count, to: dst + total)
                    }
                    if written == 0 {
                        (dst + total).update(from: src + starts[a], count: count)
                        written = count
                    }
                    total += written
                }
                keptStarts[n] = total
            }
        }

        // Intern n-gram features. Slot: feature hash (0 = empty) and feature id; per id: the
        // last answer that had it (to count each feature once per answer) and whether a
        // second answer had it. Only `keys` needs zeroing.
        let occurrences = max(1, keptStarts[n] * ngram)
        var capacityLog2 = 4
        while (1 << capacityLog2) < occurrences + occurrences / 4 { capacityLog2 += 1 }
        let capacity = 1 << capacityLog2
        let shift = UInt64(64 - capacityLog2)
        var keys = [UInt64](repeating: 0, count: capacity)
        var slotIds: [Int32] = scratchArray(count: capacity)
        var lastAnswer: [Int32] = scratchArray(count: occurrences)
        var shared: [Bool] = scratchArray(count: occurrences)
        var featureIds: [Int32] = scratchArray(count: occurrences)
        var featureStarts = [Int](repeating: 0, count: n + 1)
        var distinct = 0
        kept.withUnsafeBufferPointer { kept in
            keys.withUnsafeMutableBufferPointer { keys in
                slotIds.withUnsafeMutableBufferPointer { slotIds in
                    lastAnswer.withUnsafeMutableBufferPointer { lastAnswer in
                        shared.withUnsafeMutableBufferPointer { shared in
                            featureIds.withUnsafeMutableBufferPointer { featureIds in
                                let mask = capacity - 1
                                var featureCount = 0
                                for a in 0..<n {
                                    featureStarts[a] = featureCount
                                    let answer = Int32(a)
                                    let lo = keptStarts[a], hi = keptStarts[a + 1]
                                    for t in lo..<hi {
                                        var feature = kept[t]
                                        var length = 1
                                        while true {
                                            let key = feature == 0 ? 1 : feature
                                            var slot = Int(truncatingIfNeeded: key >> shift)
                                            while true {
                                                let k = keys[slot]
                                                if k == key {
                                                    let id = Int(slotIds[slot])
                                                    if lastAnswer[id] != answer {
                                                        lastAnswer[id] = answer
                                                        shared[id] = true
                                                        featureIds[featureCount] = Int32(id)
                                                        featureCount += 1
                                                    }
                                                    break
                                                }
                                                if k == 0 {
                                                    keys[slot] = key
                                                    slotIds[slot] = Int32(distinct)
                                                    lastAnswer[distinct] = answer
                                                    shared[distinct] = false
                                                    featureIds[featureCount] = Int32(distinct)
                                                    featureCount += 1
                                                    distinct += 1
                                                    break
                                                }
                                                slot = (slot + 1) & mask
                                            }
                                            if length == ngram || t + length >= hi { break }
                                            feature = WordHasher.combine(feature, kept[t + length])
                                            length += 1
                                        }
                                    }
                                }
                                featureStarts[n] = featureCount
                            }
                        }
                    }
                }
            }
        }

        // Only shared features can be in an intersection: number them 0..<S.
        var sharedIndex = [Int32](repeating: -1, count: max(1, distinct))
        var sharedCount = 0
        sharedIndex.withUnsafeMutableBufferPointer { sharedIndex in
            for id in 0..<distinct where shared[id] {
                sharedIndex[id] = Int32(sharedCount)
                sharedCount += 1
            }
        }
        var sizes = [Int](repeating: 0, count: n)
        for a in 0..<n { sizes[a] = featureStarts[a + 1] - featureStarts[a] }
        // Every occurrence belongs to a shared feature except one per unshared feature.
        let sharedOccurrences = featureStarts[n] - (distinct - sharedCount)
        let words = max(1, (sharedCount + 63) / 64)
        let useBitsets: Bool
        switch intersection {
        case .automatic: useBitsets = words <= max(8, sharedOccurrences / n)
        case .bitset: useBitsets = true
        case .sortedMerge: useBitsets = false
        }
        var matrix = [Double](repeating: 0, count: n * n)
        let similarityOf = { (i: Int, j: Int, inter: Int) -> Double in
            let union = sizes[i] + sizes[j] - inter
            return union > 0 ? Double(inter) / Double(union) : 0
        }

        if useBitsets {
            var bits = [UInt64](repeating: 0, count: n * words)
            bits.withUnsafeMutableBufferPointer { bits in
                sharedIndex.withUnsafeBufferPointer { sharedIndex in
                    featureIds.withUnsafeBufferPointer { featureIds in
                        for a in 0..<n {
                            let row = a * words
                            for f in featureStarts[a]..<featureStarts[a + 1] {
                                let s = Int(sharedIndex[Int(featureIds[f])])
                                if s >= 0 { bits[row + (s >> 6)] |= 1 << UInt64(s & 63) }
                            }
                        }
                    }
                }
            }
            bits.withUnsafeBufferPointer { bits in
                matrix.withUnsafeMutableBufferPointer { matrix in
                    let base = bits.baseAddress.unsafelyUnwrapped
                    for i in 0..<n {
                        matrix[i * n + i] = 1
                        for j in (i + 1)..<max(i + 1, n) {
                            let s = similarityOf(i, j, Self.intersectionCount(base + i * words, base + j * words, words))
                            matrix[i * n + j] = s
                            matrix[j * n + i] = s
                        }
                    }
                }
            }
        } else {
            // Sorted shared-feature ids per answer, merged pair by pair.
            var lists = [Int32](repeating: 0, count: max(1, sharedOccurrences))
            var listStarts = [Int](repeating: 0, count: n + 1)
            var filled = 0
            for a in 0..<n {
                listStarts[a] = filled
                for f in featureStarts[a]..<featureStarts[a + 1] {
                    let s = sharedIndex[Int(featureIds[f])]
                    if s >= 0 {
                        lists[filled] = s
                        filled += 1
                    }
                }
                lists[listStarts[a]..<filled].sort()
            }
            listStarts[n] = filled
            lists.withUnsafeBufferPointer { lists in
                matrix.withUnsafeMutableBufferPointer { matrix in
                    for i in 0..<n {
                        matrix[i * n + i] = 1
                        for j in (i + 1)..<max(i + 1, n) {
                            var x = listStarts[i], y = listStarts[j]
                            let xEnd = listStarts[i + 1], yEnd = listStarts[j + 1]
                            var inter = 0
                            while x < xEnd && y < yEnd {
                                let u = lists[x], v = lists[y]
                                if u == v { inter += 1 }
                                if u <= v { x += 1 }
                                if v <= u { y += 1 }
                            }
                            let s = similarityOf(i, j, inter)
                            matrix[i * n + j] = s
                            matrix[j * n + i] = s
                        }
                    }
                }
            }
        }
        return matrix
    }
}

extension ConsensusAggregator {
    /// Carry-save adder: the sum bits (`low`) and carry bits (`high`) of three words.
    @inline(__always)
    static func carrySave(_ a: UInt64, _ b: UInt64, _ c: UInt64) -> (high: UInt64, low: UInt64) {
        let u = a ^ b
        return ((a & b) | (u & c), u ^ c)
    }

    /// popcount(x & y) over `words` words. Blocks of 8 words go through a Harley-Seal
    /// carry-save tree (one popcount per block): the default x86-64 target has no POPCNT
    /// instruction, so each popcount is a ~20-instruction bit trick worth saving.
    @inline(__always)
    static func intersectionCount(_ x: UnsafePointer<UInt64>, _ y: UnsafePointer<UInt64>, _ words: Int) -> Int {
        var eights = 0
        var ones: UInt64 = 0, twos: UInt64 = 0, fours: UInt64 = 0
        var w = 0
        while w + 8 <= words {
            let (twosA, onesA) = carrySave(ones, x[w] & y[w], x[w + 1] & y[w + 1])
            let (twosB, onesB) = carrySave(onesA, x[w + 2] & y[w + 2], x[w + 3] & y[w + 3])
            let (foursA, twosC) = carrySave(twos, twosA, twosB)
            let (twosD, onesC) = carrySave(onesB, x[w + 4] & y[w + 4], x[w + 5] & y[w + 5])
            let (twosE, onesD) = carrySave(onesC, x[w + 6] & y[w + 6], x[w + 7] & y[w + 7])
            let (foursB, twosF) = carrySave(twosC, twosD, twosE)
            let (eightsA, foursC) = carrySave(fours, foursA, foursB)
            ones = onesD
            twos = twosF
            fours = foursC
            eights &+= eightsA.nonzeroBitCount
            w += 8
        }
        var total = 8 &* eights &+ 4 &* fours.nonzeroBitCount &+ 2 &* twos.nonzeroBitCount &+ ones.nonzeroBitCount
        while w < words {
            total &+= (x[w] & y[w]).nonzeroBitCount
            w += 1
        }
        return total
    }
}

/// An array of `count` elements whose contents are not set: scratch space that the caller
/// writes before it reads (no zeroing pass over large buffers).
@inline(__always)
func scratchArray<T: BitwiseCopyable>(count: Int) -> [T] {
    [T](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
}

/// Mass, vote and agreement shared logic of the optimized aggregator (CopilotReference has its
/// own plain version of each step).
enum ConsensusVote {
    /// `m_i = (weight_i / max weight) * confidence_i` over the included answers.
    static func masses(_ answers: [ExpertAnswer], included: [Int]) throws -> [Double] {
        var maxWeight = 0.0
        for i in included { maxWeight = max(maxWeight, answers[i].weight) }
        guard maxWeight > 0, maxWeight.isFinite else { throw ConsensusError.zeroTotalWeight }
        let masses = included.map { (answers[$0].weight / maxWeight) * answers[$0].confidence }
        guard masses.contains(where: { $0 > 0 }) else { throw ConsensusError.zeroTotalWeight }
        return masses
    }

    /// The kind most answers carry a value of (ties: ``FactualKind`` order); with
    /// `requireMajority`, only if more than half of the answers carry it.
    static func dominantKind(_ extracted: [FactualValues], requireMajority: Bool) -> FactualKind? {
        var best: FactualKind?
        var bestCount = 0
        for kind in FactualKind.allCases {
            let count = extracted.reduce(0) { $0 + ($1[kind] == nil ? 0 : 1) }
            if count > bestCount {
                best = kind
                bestCount = count
            }
        }
        if requireMajority && bestCount * 2 <= extracted.count { return nil }
        return best
    }

    /// Groups, support, winner, consensus member, agreement and dissent from the matrix.
    /// `relations` (pairs of included positions): conflicting answers get similarity 0 and
    /// never share a group, agreeing ones are linked whatever their similarity. With any of
    /// them, links are taken strongest first (similarity, then input order) and one that
    /// would join two contradicting answers is skipped, O(n² log n); without, plain single
    /// linkage as CopilotReference does it.
    static func resolve(
        mode: ConsensusMode, included: [Int], excluded: [Int], masses: [Double], similarity: [Double],
        threshold: Double, values: [String?], relations: ClaimRelations = ClaimRelations()
    ) -> ConsensusReport {
        let n = included.count
        var similarity = similarity
        let conflicts = relations.conflicts
        var conflicting = [Bool]()
        var agreeing = [Bool]()
        if !conflicts.isEmpty || !relations.agreements.isEmpty {
            agreeing = [Bool](repeating: false, count: n * n)
            for pair in relations.agreements { agreeing[pair.first * n + pair.second] = true }
            conflicting = [Bool](repeating: false, count: n * n)
            for pair in conflicts {
                conflicting[pair.first * n + pair.second] = true
                conflicting[pair.second * n + pair.first] = true
                similarity[pair.first * n + pair.second] = 0
                similarity[pair.second * n + pair.first] = 0
            }
        }
        // Single linkage by union-find; factual mode links equal keys only.
        var parent = Array(0..<n)
        func find(_ x: Int) -> Int {
            var x = x
            while parent[x] != x {
                parent[x] = parent[parent[x]]
                x = parent[x]
            }
            return x
        }
        // Agreements that add a link the similarity did not give.
        var addedLinks = 0
        if agreeing.isEmpty {
            for i in 0..<n {
                for j in (i + 1)..<max(i + 1, n) {
                    let s = similarity[i * n + j]
                    let linked = mode == .factual ? s == 1 : s >= threshold
                    if linked {
                        let ri = find(i), rj = find(j)
                        if ri != rj { parent[max(ri, rj)] = min(ri, rj) }
                    }
                }
            }
        } else {
            var links: [(i: Int, j: Int, s: Double)] = []
            for i in 0..<n {
                for j in (i + 1)..<max(i + 1, n) where !conflicting[i * n + j] {
                    let s = similarity[i * n + j]
                    if mode == .factual ? s == 1 : s >= threshold {
                        links.append((i, j, s))
                    } else if agreeing[i * n + j] {
                        links.append((i, j, s))
                        addedLinks += 1
                    }
                }
            }
            links.sort { $0.s != $1.s ? $0.s > $1.s : ($0.i, $0.j) < ($1.i, $1.j) }
            var members = (0..<n).map { [$0] }
            for link in links {
                let ri = find(link.i), rj = find(link.j)
                if ri == rj { continue }
                if members[ri].contains(where: { a in members[rj].contains { conflicting[a * n + $0] } }) {
                    continue
                }
                let (keep, drop) = (min(ri, rj), max(ri, rj))
                parent[drop] = keep
                members[keep] += members[drop]
                members[drop] = []
            }
        }
        var groupOfRoot = [Int](repeating: -1, count: n)
        var group = [Int](repeating: 0, count: n)
        var groupCount = 0
        for i in 0..<n {
            let r = find(i)
            if groupOfRoot[r] < 0 {
                groupOfRoot[r] = groupCount
                groupCount += 1
            }
            group[i] = groupOfRoot[r]
        }

        var total = 0.0
        for m in masses { total += m }
        var support = [Double](repeating: 0, count: n)
        for i in 0..<n {
            var sum = 0.0
            for j in 0..<n { sum += masses[j] * similarity[i * n + j] }
            support[i] = sum / total
        }
        var groupMass = [Double](repeating: 0, count: groupCount)
        for i in 0..<n { groupMass[group[i]] += masses[i] }
        var winner = 0
        for g in 1..<max(1, groupCount) where groupMass[g] > groupMass[winner] { winner = g }

        var best = -1
        for i in 0..<n where group[i] == winner {
            if best < 0 || support[i] > support[best] || (support[i] == support[best] && masses[i] > masses[best]) {
                best = i
            }
        }

        var pairWeight = 0.0, pairAgreement = 0.0
        for i in 0..<n where group[i] == winner {
            for j in (i + 1)..<max(i + 1, n) where group[j] == winner {
                let w = masses[i] * masses[j]
                let s = similarity[i * n + j]
                pairWeight += w
                pairAgreement += w * (threshold > 0 ? min(1, s / threshold) : 1)
            }
        }
        let cohesion = pairWeight > 0 ? pairAgreement / pairWeight : 1
        let agreement = min(1, max(0, groupMass[winner] / total * cohesion))
        let dissent = (0..<n).filter { group[$0] != winner }.map { included[$0] }
        var report = ConsensusReport(
            mode: mode, included: included, excluded: excluded, support: support, group: group,
            similarity: similarity, consensusIndex: included[best], winningGroup: winner,
            agreement: agreement, dissent: dissent, values: mode == .factual ? values : [],
            answer: mode == .factual ? values[best] : nil)
        // Many pairs clash over the same values: each reason is formatted once.
        var reasons: [ClaimClash: String] = [:]
        report.contradictions = conflicts.map { pair in
            var reason = ""
            if let clash = pair.clash {
                reason = reasons[clash] ?? clash.reason
                reasons[clash] = reason
            }
            return ConsensusContradiction(first: included[pair.first], second: included[pair.second], reason: reason)
        }
        report.claimsDecided = !conflicts.isEmpty || addedLinks > 0
        return report
    }
}
