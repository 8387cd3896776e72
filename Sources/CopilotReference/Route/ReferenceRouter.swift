import CopilotCore

/// The prototype's router: static weights and a linear scan, no health, no breaker, no
/// retries. For each request it walks every provider and every model name, keeps those that
/// serve the model, and draws one in proportion to its configured weight. The baseline of
/// the `route/` bench cases and what ``ProviderRouter`` with ``HealthWeightedSelector`` reduces to
/// when every provider is healthy and has no history.
package struct ReferenceRouter: Sendable {
    /// Providers in file order.
    package let providers: [ProviderSettings]
    private var generator: SplitMix64

    /// A router over `providers` drawing from `seed`.
    package init(providers: [ProviderSettings], seed: UInt64) {
        self.providers = providers
        generator = SplitMix64(seed: seed)
    }

    /// The provider index to call for `model`, or `nil` when none serves it.
    package mutating func pick(model: String) -> Int? {
        var matching: [Int] = []
        var total = 0.0
        for (i, provider) in providers.enumerated() {
            var serves = false
            for name in provider.models + provider.aliases where name == model { serves = true }
            if serves {
                matching.append(i)
                total += provider.weight
            }
        }
        guard !matching.isEmpty else { return nil }
        if matching.count == 1 { return matching[0] }
        var target = generator.nextUnit() * total
        for i in matching {
            target -= providers[i].weight
            if target < 0 { return i }
        }
        return matching[matching.count - 1]
    }
}
