import CopilotCore
import CopilotReference

/// `consensus/N answers`: the whole aggregation (tokenize, similarity matrix, groups, vote)
/// over N generated answers of about 200 words (50 with `--quick`, where the reference's
/// 50-answer run alone would take most of the suite's budget), optimized against the reference.
enum ConsensusBenchSuite {
    static let suite = BenchSuite(name: "consensus") { context in
        let counts = [2, 5, 10, 20, 50]
        let words = context.quick ? 50 : 200
        return counts.map { count in
            BenchCase(name: "consensus/\(count) answers x \(words) words", unit: "answers", unitsPerOp: Double(count)) {
                var generator = ConsensusAnswerGenerator(seed: context.seed &+ UInt64(count))
                let answers = generator.answerSet(count: count, words: words)
                let reference = ReferenceConsensusAggregator()
                let optimized = ConsensusAggregator()
                return BenchOperations(
                    reference: { benchBlackHole(try? reference.aggregate(answers)) },
                    optimized: { benchBlackHole(try? optimized.aggregate(answers)) })
            }
        } + [claimCase(context)]
    }

    /// `consensus/20 short answers with claims`: the claim check's cost (names, dates, units
    /// and negations read from every answer); the reference, which has no claim check, is the
    /// word-overlap-only baseline.
    static func claimCase(_ context: BenchContext) -> BenchCase {
        BenchCase(name: "consensus/20 short answers with claims", unit: "answers", unitsPerOp: 20) {
            var generator = ConsensusAnswerGenerator(seed: context.seed)
            let answers = generator.claimSet(count: 20)
            let reference = ReferenceConsensusAggregator()
            let optimized = ConsensusAggregator()
            return BenchOperations(
                reference: { benchBlackHole(try? reference.aggregate(answers)) },
                optimized: { benchBlackHole(try? optimized.aggregate(answers)) })
        }
    }
}
