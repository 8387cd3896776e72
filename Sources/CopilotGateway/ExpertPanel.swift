import CopilotCore
import Foundation

/// One expert's part in `copilot consensus --ask`: its answer, or why it gave none.
package struct ExpertReply: Sendable, Equatable {
    /// The model asked.
    package var model: String
    /// The provider that answered (`x-copilot-provider`), when one did.
    package var provider: String?
    /// The answer, when there was one.
    package var text: String?
    /// Why there is no answer (failed, timed out, refused).
    package var error: String?
    /// From the question leaving to the whole answer back, milliseconds.
    package var latencyMs: Double
    /// Token counts the provider reported.
    package var promptTokens: Int?
    /// Completion tokens the provider reported.
    package var completionTokens: Int?
    /// What the answer cost, in the configured cost units (`cost_*_per_1k`), when known.
    package var cost: Double?
}

/// A circle of experts: the same question to several different models at once through the
/// gateway (so health, breakers, failover and the cache apply to each), every one with its
/// own timeout; the answers that came back go to the consensus aggregator.
package enum ExpertPanel {
    /// Why a panel cannot be formed.
    package enum Failure: Error, LocalizedError, Equatable {
        /// More experts asked for than models can answer.
        case tooFewModels(asked: Int, available: [String])
        /// Every expert failed; `reasons` says why, expert by expert.
        case noAnswers(reasons: String)

        /// The message for this error.
        package var errorDescription: String? {
            switch self {
            case .noAnswers(let reasons):
                "no expert answered (\(reasons)); check the providers with copilot route stats, or raise --timeout-ms"
            case .tooFewModels(let asked, let available):
                "--experts \(asked): only \(available.count) different models can answer (\(available.joined(separator: ", "))); ask for at most \(available.count) or configure more providers"
            }
        }
    }

    /// The models of `settings` able to answer for `task`, one per provider (its first model),
    /// in configuration order, without repeats: different models, usually different providers.
    package static func models(settings: RouteSettings, task: String?) -> [String] {
        var router = ProviderRouter(settings: settings, selector: HealthWeightedSelector())
        var seen: Set<String> = []
        var models: [String] = []
        for (i, provider) in settings.providers.enumerated() {
            guard let model = provider.models.first, !seen.contains(model) else { continue }
            let decision = router.decide(model: model, task: task, now: 0)
            guard decision.ranked.contains(where: { $0.provider == i }) else { continue }
            seen.insert(model)
            models.append(model)
        }
        return models
    }

    /// The first `count` of `available`, or ``Failure/tooFewModels(asked:available:)``.
    package static func choose(_ count: Int, from available: [String]) throws -> [String] {
        guard count <= available.count else { throw Failure.tooFewModels(asked: count, available: available) }
        return Array(available.prefix(count))
    }

    /// Asks `question` of every model at once through the gateway `client` talks to; each reply comes
    /// back within `timeoutMs` or as an error. Replies are in the order of `models`; `wallMs`
    /// is from the first question sent to the last reply in.
    /// `costs` gives (input, output) cost per 1k tokens by provider name, when known.
    ///
    /// `client` should have made one request already (``GatewayClient/models()``): its first
    /// request sets up the HTTP client's pool, which holds the threads the experts' tasks
    /// start on for about 2 ms.
    package static func ask(
        _ question: String, models: [String], task: String?, client: GatewayClient, timeoutMs: Int,
        costs: [String: (input: Double, output: Double)] = [:]
    ) async -> (replies: [ExpertReply], wallMs: Double) {
        let started = monotonicNanoseconds()
        let replies = await withTaskGroup(of: (Int, ExpertReply).self) { group in
            for (i, model) in models.enumerated() {
                group.addTask {
                    let start = monotonicNanoseconds()
                    do {
                        let c = try await client.complete(prompt: question, model: model, task: task, timeoutMs: timeoutMs)
                        let latency = Double(monotonicNanoseconds() &- start) / 1e6
                        var cost: Double?
                        if let price = costs[c.provider], let input = c.promptTokens, let output = c.completionTokens {
                            cost = Double(input) / 1000 * price.input + Double(output) / 1000 * price.output
                        }
                        return (i, ExpertReply(
                            model: model, provider: c.provider, text: c.text, latencyMs: latency, promptTokens: c.promptTokens,
                            completionTokens: c.completionTokens, cost: cost))
                    } catch {
                        let latency = Double(monotonicNanoseconds() &- start) / 1e6
                        return (i, ExpertReply(model: model, error: error.localizedDescription, latencyMs: latency))
                    }
                }
            }
            var out = [ExpertReply?](repeating: nil, count: models.count)
            for await (i, reply) in group { out[i] = reply }
            return out.compactMap { $0 }
        }
        let wallMs = Double(monotonicNanoseconds() &- started) / 1e6
        return (replies, wallMs)
    }
}
