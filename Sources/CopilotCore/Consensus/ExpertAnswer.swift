/// One expert's answer, as read from the input.
public struct ExpertAnswer: Sendable, Equatable {
    /// Who answered; `#N` (1-based position) when the input names nobody.
    public var expert: String
    /// The answer as given (printed unchanged when it wins).
    public var text: String
    /// How much this expert's vote counts; finite and >= 0 (default 1).
    public var weight: Double
    /// The expert's own confidence in [0, 1] (default 1).
    public var confidence: Double
    /// 1-based input line the answer starts on (0 when built in code), for messages.
    public var line: Int

    /// Creates an answer.
    public init(expert: String, text: String, weight: Double = 1, confidence: Double = 1, line: Int = 0) {
        self.expert = expert
        self.text = text
        self.weight = weight
        self.confidence = confidence
        self.line = line
    }
}

/// How answers are compared.
public enum ConsensusMode: String, CaseIterable, Sendable {
    /// `factual` when every answer is short and most carry a number, yes/no or a choice
    /// letter; `text` otherwise, with short answers also checked for contradicting claims
    /// (``ConsensusOptions/claimMaxWords``).
    case auto
    /// Free text: n-gram Jaccard similarity and single-linkage grouping only, as the Python
    /// prototype compared answers (no claim check).
    case text
    /// Short factual answers: vote on the extracted number, yes/no or choice letter.
    case factual
}

/// Tuning of the aggregator (`[consensus]` in copilot.toml; flags override).
public struct ConsensusOptions: Sendable, Equatable {
    /// Two answers with Jaccard similarity >= this share a position (single linkage), 0...1.
    public var threshold: Double
    /// Features are word n-grams of every size from 1 to this, 1...4.
    public var ngramSize: Int
    /// In `auto` mode, answers of at most this many words may be voted on as facts.
    public var factualMaxWords: Int
    /// Leave common English function words out of the n-grams.
    public var removeStopwords: Bool
    /// Text or factual comparison, or decide per input.
    public var mode: ConsensusMode
    /// In `auto` mode, when answers are compared as text, those of at most this many words
    /// are read for central claims and checked for contradictions (``ClaimExtractor``); 0
    /// turns the check off. Long answers
    /// name many incidental values, so their claims would say little.
    public var claimMaxWords: Int

    /// Built-in defaults, the values config/copilot.toml documents.
    public static let defaults = ConsensusOptions(
        threshold: 0.15, ngramSize: 2, factualMaxWords: 12, removeStopwords: true, mode: .auto, claimMaxWords: 40)

    /// Creates options.
    public init(
        threshold: Double, ngramSize: Int, factualMaxWords: Int, removeStopwords: Bool, mode: ConsensusMode,
        claimMaxWords: Int = 40
    ) {
        self.threshold = threshold
        self.ngramSize = ngramSize
        self.factualMaxWords = factualMaxWords
        self.removeStopwords = removeStopwords
        self.mode = mode
        self.claimMaxWords = claimMaxWords
    }

    /// Keys of the `[consensus]` section.
    package static let configurationKeys = [
        "threshold", "ngram_size", "factual_max_words", "remove_stopwords", "mode", "claim_max_words",
    ]

    /// Reads `[consensus]`; absent keys keep the built-in defaults.
    public init(configuration: Configuration) throws {
        let section = try configuration.section("consensus")
        try section.checkKeys(known: Self.configurationKeys)
        let d = Self.defaults
        self.init(
            threshold: try section.double("threshold", default: d.threshold, in: 0...1),
            ngramSize: try section.int("ngram_size", default: d.ngramSize, in: 1...4),
            factualMaxWords: try section.int("factual_max_words", default: d.factualMaxWords, in: 0...1000),
            removeStopwords: try section.bool("remove_stopwords", default: d.removeStopwords),
            mode: try section.choice("mode", default: d.mode),
            claimMaxWords: try section.int("claim_max_words", default: d.claimMaxWords, in: 0...10_000))
    }
}

/// Computes a consensus over expert answers. ``ConsensusAggregator`` is the fast one;
/// CopilotReference holds the plain twin that must give the same report.
public protocol ConsensusAggregating: Sendable {
    /// The tuning in use.
    var options: ConsensusOptions { get }
    /// The report for `answers` (in input order). Throws ``ConsensusError/noUsableAnswers``
    /// when no answer has words and ``ConsensusError/zeroTotalWeight`` when no vote counts.
    func aggregate(_ answers: [ExpertAnswer]) throws -> ConsensusReport
    /// The report for answers to `question` (`copilot consensus --question`, `--ask`); an
    /// aggregator without claim rules does not read it.
    func aggregate(_ answers: [ExpertAnswer], question: String?) throws -> ConsensusReport
}
