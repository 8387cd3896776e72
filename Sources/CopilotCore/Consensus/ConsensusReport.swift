import Foundation

/// The outcome of a consensus over expert answers.
///
/// Definitions (both aggregators follow them exactly, summing in input order):
/// - Answers whose text has no words are *excluded*; the rest take part, in input order.
/// - Mass: `m_i = (weight_i / max weight) * confidence_i` (dividing by the largest weight
///   keeps sums finite; it changes no ratio). `M = sum of m_i`.
/// - Similarity `s_ij`: in `text` mode the Jaccard index of the answers' word n-gram sets; in
///   `factual` mode 1 when both answers have the same vote key, else 0. `s_ii = 1`.
/// - Support: `support_i = sum_j m_j * s_ij / M` (j runs over all answers, itself included),
///   in [0, 1]: the share of the panel's weight that agrees with answer i.
/// - Groups (positions): in `text` mode answers are linked when `s_ij >= threshold` and a group
///   is a connected set (single linkage); in `factual` mode a group is one vote key. Groups are
///   numbered 0, 1, ... by their first member.
/// - The winning group has the largest mass (sum of its m_i); ties go to the group whose first
///   member came first. The consensus answer is its member with the largest support, then the
///   largest mass, then the earliest.
/// - Agreement: `(mass of winner / M) * cohesion`, where cohesion is the mass-weighted mean of
///   `min(1, s_ij / threshold)` over the winner's pairs (1 for a single member, or when the
///   pair weights are all zero, or when the threshold is 0). In [0, 1].
/// - Dissent: the answers outside the winning group.
/// - Contradictions (``ConsensusAggregator`` only, text comparison in `auto` mode, answers of at most
///   `claimMaxWords` words; rules in ``ClaimExtractor``): two answers that name different
///   central values for one slot (entities, dates, numbers of one unit), or where one denies a
///   value the other asserts, have `s_ij = 0` and never share a group. Groups are then built
///   from the links taken strongest first (similarity, then input order), skipping a link that
///   would join two contradicting answers. Two short answers that assert a common value and
///   do not contradict are linked whatever their similarity ("Canberra." and "The capital
///   is Canberra, a planned city."). CopilotReference, the prototype's twin, has neither
///   rule; the two agree on every input where the claims decide nothing (``claimsDecided``).
public struct ConsensusReport: Sendable, Equatable {
    /// The mode used: `.text` or `.factual` (never `.auto`).
    public var mode: ConsensusMode
    /// Input indices of the answers that took part, ascending.
    public var included: [Int]
    /// Input indices of answers left out because their text has no words.
    public var excluded: [Int]
    /// `support[k]` belongs to answer `included[k]`.
    public var support: [Double]
    /// `group[k]` is the position of answer `included[k]`.
    public var group: [Int]
    /// Row-major `included.count` x `included.count` similarity matrix.
    public var similarity: [Double]
    /// Input index of the consensus answer.
    public var consensusIndex: Int
    /// Group number of the winning position.
    public var winningGroup: Int
    /// Overall agreement in [0, 1].
    public var agreement: Double
    /// Input indices of the dissenting answers, ascending.
    public var dissent: [Int]
    /// In `factual` mode, the extracted value of each included answer (nil: none found).
    public var values: [String?]
    /// In `factual` mode, the winning value (e.g. `42`, `yes`, `B`); nil in text mode or when
    /// the winning group has no extracted value.
    public var answer: String?
    /// Pairs of contradicting answers, in input order of the first then the second.
    public var contradictions: [ConsensusContradiction] = []
    /// When the claims decided something (``claimsDecided``), each included answer's central
    /// claims as read (`canberra`, `not sydney`, `1500 m`, `1969-07-20`); empty otherwise.
    public var claims: [[String]] = []
    /// Whether contradictions, or links between answers that share a value but too few words,
    /// took part in the grouping; when false, the report is what word overlap alone gives.
    public var claimsDecided = false

    /// Creates a report.
    public init(
        mode: ConsensusMode, included: [Int], excluded: [Int], support: [Double], group: [Int],
        similarity: [Double], consensusIndex: Int, winningGroup: Int, agreement: Double,
        dissent: [Int], values: [String?], answer: String?
    ) {
        self.mode = mode
        self.included = included
        self.excluded = excluded
        self.support = support
        self.group = group
        self.similarity = similarity
        self.consensusIndex = consensusIndex
        self.winningGroup = winningGroup
        self.agreement = agreement
        self.dissent = dissent
        self.values = values
        self.answer = answer
    }
}

/// Two answers that name different central values for the same question.
public struct ConsensusContradiction: Sendable, Equatable {
    /// Input index of the earlier answer.
    public var first: Int
    /// Input index of the later answer.
    public var second: Int
    /// What differs: `canberra vs sydney`, `not sydney vs sydney`, `1969 vs 1968`.
    public var reason: String

    /// Creates a contradiction.
    public init(first: Int, second: Int, reason: String) {
        self.first = first
        self.second = second
        self.reason = reason
    }
}

/// Renders a report for `copilot consensus`: plain text or JSON, byte-identical for the same
/// input (fixed key order, numbers rounded to 6 decimals).
package enum ConsensusReportFormatter {
    /// The consensus text and a newline; with `matrix`, a blank line and the similarity matrix
    /// as tab-separated values (header row and first column: expert names; 3 decimals).
    package static func plain(_ report: ConsensusReport, answers: [ExpertAnswer], matrix: Bool) -> String {
        var out = answers[report.consensusIndex].text + "\n"
        guard matrix else { return out }
        // Tabs and line breaks in names would break the table's columns.
        let names = report.included.map { index in
            String(answers[index].expert.map { $0 == "\t" || $0.isNewline ? " " : $0 })
        }
        let k = names.count
        out += "\n" + (["expert"] + names).joined(separator: "\t") + "\n"
        for i in 0..<k {
            let row = (0..<k).map { String(format: "%.3f", report.similarity[i * k + $0]) }
            out += ([names[i]] + row).joined(separator: "\t") + "\n"
        }
        return out
    }

    /// The JSON report: `consensus`, `expert`, `agreement`, `mode`, `answer`, `answers` (each
    /// `expert`, `support`, `group`, `weight`, `confidence`, and `value` in factual mode),
    /// `dissent`, `excluded`, and with `matrix` the similarity matrix. When the claims decided
    /// something, each answer also has `claims` (its central values; `not X` for a denied
    /// one); when answers contradict, `contradictions` lists the pairs (`experts`, `reason`).
    package static func json(_ report: ConsensusReport, answers: [ExpertAnswer], matrix: Bool) -> String {
        var out = "{\n"
        out += "  \"consensus\": \(JSONText.quote(answers[report.consensusIndex].text)),\n"
        out += "  \"expert\": \(JSONText.quote(answers[report.consensusIndex].expert)),\n"
        out += "  \"agreement\": \(number(report.agreement)),\n"
        out += "  \"mode\": \(JSONText.quote(report.mode.rawValue)),\n"
        out += "  \"answer\": \(report.answer.map(JSONText.quote) ?? "null"),\n"
        out += "  \"answers\": [\n"
        for (k, index) in report.included.enumerated() {
            let answer = answers[index]
            var fields = [
                "\"expert\": \(JSONText.quote(answer.expert))", "\"support\": \(number(report.support[k]))",
                "\"group\": \(report.group[k])", "\"weight\": \(number(answer.weight))",
                "\"confidence\": \(number(answer.confidence))",
            ]
            if report.mode == .factual { fields.append("\"value\": \(report.values[k].map(JSONText.quote) ?? "null")") }
            if !report.claims.isEmpty {
                fields.append("\"claims\": [" + report.claims[k].map(JSONText.quote).joined(separator: ", ") + "]")
            }
            out += "    {" + fields.joined(separator: ", ") + "}" + (k + 1 < report.included.count ? "," : "") + "\n"
        }
        out += "  ],\n"
        out += "  \"dissent\": [" + report.dissent.map { JSONText.quote(answers[$0].expert) }.joined(separator: ", ") + "],\n"
        out += "  \"excluded\": [" + report.excluded.map { JSONText.quote(answers[$0].expert) }.joined(separator: ", ") + "]"
        if !report.contradictions.isEmpty {
            out += ",\n  \"contradictions\": [\n"
            for (k, pair) in report.contradictions.enumerated() {
                out += "    {\"experts\": [\(JSONText.quote(answers[pair.first].expert)), \(JSONText.quote(answers[pair.second].expert))], "
                out += "\"reason\": \(JSONText.quote(pair.reason))}" + (k + 1 < report.contradictions.count ? "," : "") + "\n"
            }
            out += "  ]"
        }
        if matrix {
            let k = report.included.count
            out += ",\n  \"matrix\": [\n"
            for i in 0..<k {
                let row = (0..<k).map { number(report.similarity[i * k + $0]) }.joined(separator: ", ")
                out += "    [" + row + "]" + (i + 1 < k ? "," : "") + "\n"
            }
            out += "  ]"
        }
        return out + "\n}\n"
    }

    /// A JSON number rounded to 6 decimals without trailing zeros (`0.5`, `1`, `0.333333`).
    static func number(_ value: Double) -> String {
        guard value.isFinite else { return "null" }
        var text = String(format: "%.6f", value)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text == "-0" ? "0" : text
    }
}
