import CopilotCore
import CopilotReference
import Foundation
import Testing

/// The runtime choice between the optimized code and CopilotReference: what falls back,
/// what the notice and `--stats` say, and that every real self-check passes on this machine.
@Suite struct ImplementationSelectionTests {
    struct Broken: Error, LocalizedError {
        var errorDescription: String? { "kernel returned garbage" }
    }

    static func check(difference: Double, tolerance: Double = 1e-3) -> ImplementationCheck {
        ImplementationCheck(
            component: "vad (default)", input: "test", largestDifference: difference, measure: "difference of speech probability",
            tolerance: tolerance, optimizedSeconds: 0.001, referenceSeconds: 0.01)
    }

    @Test func referenceWhenAskedRunsNoCheck() {
        var ran = false
        let report = ImplementationSelection.choose(component: "vad", requested: .reference) {
            ran = true
            return [Self.check(difference: 0)]
        }
        #expect(!ran)
        #expect(report.ran == .reference && report.notice == nil && report.checks.isEmpty)
        #expect(report.statistics == "implementation: vad reference\n")
    }

    @Test func optimizedWhenEveryCheckAgrees() {
        let report = ImplementationSelection.choose(component: "vad", requested: .optimized) {
            [Self.check(difference: 0), Self.check(difference: 1e-3)]
        }
        #expect(report.ran == .optimized && report.notice == nil)
        #expect(report.statistics.hasPrefix("implementation: vad optimized\nself-check: vad (default) on test: largest difference of speech probability 0 (tolerance 0.001)"))
    }

    @Test(arguments: [0.5, Double.nan, Double.infinity])
    func fallsBackWhenACheckDisagrees(difference: Double) throws {
        let report = ImplementationSelection.choose(component: "vad", requested: .optimized) {
            [Self.check(difference: 0), Self.check(difference: difference)]
        }
        #expect(report.ran == .reference && report.requested == .optimized)
        let notice = try #require(report.notice)
        #expect(notice.hasPrefix("copilot: vad: the optimized vad (default) disagreed with the reference on its self-check"))
        #expect(notice.contains("running the reference implementation instead"))
        #expect(!notice.contains("\n"))
        #expect(report.statistics.hasPrefix("implementation: vad reference (asked for optimized)\n"))
        #expect(report.checks.count == 2)
    }

    @Test func fallsBackWhenACheckThrows() throws {
        let report = ImplementationSelection.choose(component: "mel", requested: .optimized) { throw Broken() }
        #expect(report.ran == .reference)
        #expect(try #require(report.notice).contains("self-check failed (kernel returned garbage)"))
    }

    // MARK: - The real checks agree here

    @Test(arguments: [VADDetectorKind.default, .energy])
    func voiceDetectorChecksAgree(kind: VADDetectorKind) throws {
        var settings = VADSettings()
        settings.detector = kind
        let check = try ImplementationChecks.vad(settings: settings, seconds: 1)
        #expect(check.agrees, "\(check.largestDifference)")
        let (detector, report) = try ImplementationSelection.voiceDetector(settings: settings, format: .segments, requested: .optimized)
        #expect(report.ran == .optimized)
        #expect(!(detector is ReferenceSpectralDetector) && !(detector is ReferenceEnergyDetector))
        let (reference, _) = try ImplementationSelection.voiceDetector(settings: settings, format: .segments, requested: .reference)
        #expect(reference is ReferenceSpectralDetector || reference is ReferenceEnergyDetector)
        #expect(reference.frameSamples == detector.frameSamples)
    }

    @Test(arguments: [1, 2])
    func melCheckAgrees(threads: Int) {
        let check = ImplementationChecks.mel(threads: threads, seconds: 0.5)
        #expect(check.agrees && check.largestDifference > 0, "\(check.largestDifference)")
        let (extractor, report) = ImplementationSelection.melExtractor(threads: threads, requested: .reference)
        #expect(extractor is ReferenceLogMelSpectrogram && report.ran == .reference)
    }

    @Test(arguments: [false, true])
    func whisperChecksAgreeOnTheSelfCheckModel(halfPrecision: Bool) {
        let dims = WhisperDimensions(
            melCount: 80, audioContext: 1500, width: 64, headCount: 2, encoderLayerCount: 4, decoderLayerCount: 4,
            ffnWidth: 256, vocabularySize: 51864, textContext: 448)
        let weights = SelfCheckModel.weights(like: dims, halfPrecisionEmbedding: halfPrecision)
        #expect(weights.dimensions.width == 64 && weights.dimensions.melCount == 80)
        #expect(weights.tokenEmbedding.isHalfPrecision == halfPrecision)
        let encoder = ImplementationChecks.whisperEncoder(weights: weights, threads: 2, seconds: 1)
        let decoder = ImplementationChecks.whisperDecoder(weights: weights, threads: 2, seconds: 1)
        #expect(encoder.agrees && encoder.largestDifference > 0, "\(encoder.largestDifference)")
        #expect(decoder.agrees && decoder.largestDifference > 0, "\(decoder.largestDifference)")
        #expect(encoder.input.contains("8 mel frames"))
    }

    @Test func consensusCheckComparesWholeReports() throws {
        let answers = [
            ExpertAnswer(expert: "a", text: "Redis listens on port 6379 by default."),
            ExpertAnswer(expert: "b", text: "The default Redis port is 6379."),
            ExpertAnswer(expert: "c", text: "It uses 6380."),
        ]
        let check = try ImplementationChecks.consensus(answers)
        #expect(check.agrees && check.largestDifference == 0)
    }

    @Test func testSignalIsDeterministicAndHasBothClasses() {
        let a = ImplementationChecks.signal(seconds: 0.5), b = ImplementationChecks.signal(seconds: 0.5)
        #expect(a == b && a.count == 8_000)
        let quiet = a[0..<800].map { abs($0) }.max() ?? 0
        let loud = a[800...].map { abs($0) }.max() ?? 0
        #expect(quiet < 0.01 && loud > 0.3)
    }
}

@Suite struct GeneralSettingsTests {
    @Test func implementationFromTheGeneralSection() throws {
        let configuration = try Configuration(text: "[general]\nimpl = \"reference\"\n", path: "c.toml")
        #expect(try GeneralSettings(configuration: configuration).implementation == .reference)
        #expect(try GeneralSettings(configuration: .defaults).implementation == .optimized)
    }

    @Test func shippedFileDocumentsTheDefault() throws {
        let shipped = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("config/copilot.toml").path
        let configuration = try Configuration.load(explicitPath: shipped, environment: [:])
        #expect(configuration.sectionNames.contains("general"))
        #expect(try GeneralSettings(configuration: configuration) == .defaults)
    }

    @Test func badValuesNameTheKey() throws {
        let bad = try Configuration(text: "[general]\nimpl = \"fast\"\n", path: "c.toml")
        #expect(throws: ConfigurationError.invalidValue(path: "c.toml", key: "general.impl", expected: "one of \"optimized\", \"reference\"")) {
            try GeneralSettings(configuration: bad)
        }
        let unknown = try Configuration(text: "[general]\nimplementation = \"reference\"\n", path: "c.toml")
        #expect(throws: ConfigurationError.unknownKey(path: "c.toml", key: "general.implementation", known: ["impl"])) {
            try GeneralSettings(configuration: unknown)
        }
    }
}
