import CopilotCore
import CopilotReference

/// `consensus/N answers`: the whole aggregation (tokenize, similarity matrix, groups, vote)
/// over N generated answers of about 200 words (50 with `--quick`, where the reference's
/// 50-answer run alone would take most of the suite's budget), optimized against the reference.
package enum ConsensusBenchSuite {
    static let suite = BenchSuite(name: "consensus") { context in
        let words = answerWords(context)
        return answerCounts.map { count in
            BenchCase(name: "consensus/\(count) answers x \(words) words", unit: "answers", unitsPerOp: Double(count)) {
                let answers = answerSet(count: count, context: context)
                let reference = ReferenceConsensusAggregator()
                let optimized = ConsensusAggregator()
                return BenchOperations(
                    reference: { benchBlackHole(try? reference.aggregate(answers)) },
                    optimized: { benchBlackHole(try? optimized.aggregate(answers)) })
            }
        } + [claimCase(context)]
    }

    /// The answer counts of the `consensus/N answers` cases.
    package static let answerCounts = [2, 5, 10, 20, 50]

    /// Words per generated answer: 200, or 50 with `--quick`.
    package static func answerWords(_ context: BenchContext) -> Int { context.quick ? 50 : 200 }

    /// The answers `consensus/N answers` aggregates, as `copilot bench --write-consensus-sets`
    /// writes them for the Python prototype (benchmarks/consensus_prototype.py).
    package static func answerSet(count: Int, context: BenchContext) -> [ExpertAnswer] {
        var generator = ConsensusAnswerGenerator(seed: context.seed &+ UInt64(count))
        return generator.answerSet(count: count, words: answerWords(context))
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
