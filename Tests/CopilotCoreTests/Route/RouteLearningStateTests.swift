@testable import CopilotCore
import Foundation
import Testing

@Suite struct FeedbackLedgerTests {
    @Test func aRecordedAnswerTakesOneScoreWithinItsTTL() {
        var ledger = FeedbackLedger(capacity: 10, ttlSeconds: 60)
        ledger.record(id: "a", provider: 2, task: "code", nowMs: 1000)
        ledger.record(id: "b", provider: 1, task: nil, nowMs: 1000)
        #expect(ledger.take(id: "a", nowMs: 2000) == .success(.init(provider: 2, task: "code", expiresAtMs: 61_000, scored: true)))
        #expect(ledger.take(id: "a", nowMs: 2000) == .failure(.alreadyScored))
        #expect(ledger.take(id: "b", nowMs: 61_000) == .failure(.expired))
        #expect(ledger.take(id: "nope", nowMs: 2000) == .failure(.unknown))
    }

    @Test func pastItsCapacityTheOldestAnswersAreForgottenFirst() {
        var ledger = FeedbackLedger(capacity: 3, ttlSeconds: 60)
        for i in 0..<5 { ledger.record(id: "r\(i)", provider: i, task: nil, nowMs: 0) }
        #expect(ledger.count == 3)
        #expect(ledger.take(id: "r0", nowMs: 1) == .failure(.unknown))
        #expect(ledger.take(id: "r1", nowMs: 1) == .failure(.unknown))
        for i in 2..<5 {
            guard case .success(let e) = ledger.take(id: "r\(i)", nowMs: 1) else {
                Issue.record("r\(i) was forgotten")
                continue
            }
            #expect(e.provider == i)
        }
    }
}

@Suite struct RouteStateStoreTests {
    static func temporaryPath(_ name: String = "state.sqlite") throws -> (dir: URL, path: String) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("copilot-state-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return (dir, dir.appendingPathComponent(name).path)
    }

    static let arms = [
        LearnedArm(task: "", provider: "local", posterior: QualityPosterior(successes: 3.5, failures: 1.25, recent: 0.7, recentEvidence: 4)),
        LearnedArm(task: "code", provider: "big", posterior: QualityPosterior(successes: 10, failures: 0.5, recent: 0.95, recentEvidence: 9)),
    ]

    @Test func posteriorsSurviveAReopenAndASaveReplacesThem() throws {
        let (dir, path) = try Self.temporaryPath("sub/dir/state.sqlite")
        defer { try? FileManager.default.removeItem(at: dir) }
        try RouteStateStore(path: path).save(Self.arms)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600, "learned state is private")
        let reopened = try RouteStateStore(path: path)
        #expect(try reopened.load() == Self.arms)
        try reopened.save([Self.arms[1]])
        #expect(try RouteStateStore(path: path).load() == [Self.arms[1]])
        try reopened.reset()
        #expect(try reopened.load().isEmpty)
    }

    @Test func aDamagedFileIsReportedKeptAndMovedAsideOnlyByReset() throws {
        let (dir, path) = try Self.temporaryPath()
        defer { try? FileManager.default.removeItem(at: dir) }
        let garbage = Data("not a database at all, just some bytes a crash left behind".utf8)
        try garbage.write(to: URL(fileURLWithPath: path))
        #expect {
            _ = try RouteStateStore(path: path)
        } throws: { error in
            let text = (error as? RouteStateError)?.errorDescription ?? ""
            return text.contains(path) && text.contains("--reset-state") && text.contains("damaged")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == garbage, "the damaged file is left as it was")
        let fresh = try RouteStateStore.reset(path: path)
        #expect(try fresh.load().isEmpty)
        let aside = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix("state.sqlite.damaged-") }
        #expect(aside.count == 1)
        #expect(try Data(contentsOf: dir.appendingPathComponent(aside[0])) == garbage, "moved aside, not lost")
    }

    @Test func anotherDatabaseOrImpossibleValuesAreDamage() throws {
        let (dir, path) = try Self.temporaryPath()
        defer { try? FileManager.default.removeItem(at: dir) }
        let other = try SQLiteDatabase(path: path)
        try other.execute("CREATE TABLE notes (x TEXT)")
        #expect(throws: RouteStateError.self) { _ = try RouteStateStore(path: path) }

        let (dir2, path2) = try Self.temporaryPath()
        defer { try? FileManager.default.removeItem(at: dir2) }
        try RouteStateStore(path: path2).save(Self.arms)
        try SQLiteDatabase(path: path2).execute("UPDATE arms SET successes = -5 WHERE provider = 'big'")
        #expect {
            _ = try RouteStateStore(path: path2).load()
        } throws: { error in
            (error as? RouteStateError)?.errorDescription?.contains("code/big") == true
        }
    }

    static let observations: [String: [TuningObservation]] = [
        "code": [
            TuningObservation(parameters: GenerationParameters(temperature: 0.2, topP: 0.9, maxTokens: 512), score: 0.8),
            TuningObservation(parameters: GenerationParameters(temperature: 1.5, topP: 0.3, maxTokens: 64), score: 0.1),
        ],
        "chat": [TuningObservation(parameters: GenerationParameters(temperature: 0.7, topP: 1, maxTokens: 4096), score: 1)],
    ]

    @Test func tunerObservationsSurviveAReopenInOrderAndASaveReplacesThem() throws {
        let (dir, path) = try Self.temporaryPath()
        defer { try? FileManager.default.removeItem(at: dir) }
        try RouteStateStore(path: path).save(Self.arms, observations: Self.observations)
        let reopened = try RouteStateStore(path: path)
        #expect(try reopened.loadObservations() == Self.observations)
        #expect(try reopened.load() == Self.arms)
        try reopened.save(Self.arms, observations: ["chat": Self.observations["chat"]!])
        #expect(try RouteStateStore(path: path).loadObservations() == ["chat": Self.observations["chat"]!])
        try SQLiteDatabase(path: path).execute("UPDATE observations SET score = 7")
        #expect(throws: RouteStateError.self) { _ = try RouteStateStore(path: path).loadObservations() }
    }

    @Test func aFileSavedBeforeObservationsWereKeptGainsTheirTable() throws {
        let (dir, path) = try Self.temporaryPath()
        defer { try? FileManager.default.removeItem(at: dir) }
        try RouteStateStore(path: path).save(Self.arms)
        try SQLiteDatabase(path: path).execute("DROP TABLE observations")  // as an earlier version left it
        let store = try RouteStateStore(path: path)
        #expect(try store.load() == Self.arms)
        #expect(try store.loadObservations().isEmpty)
        try store.save(Self.arms, observations: Self.observations)
        #expect(try store.loadObservations() == Self.observations)
    }

    @Test func gatewaysOpeningANewFileAtOnceAllSucceed() async throws {
        for _ in 0..<10 {
            let (dir, path) = try Self.temporaryPath()
            defer { try? FileManager.default.removeItem(at: dir) }
            let opened = await withTaskGroup(of: Bool.self) { group in
                for _ in 0..<4 { group.addTask { (try? RouteStateStore(path: path)) != nil } }
                return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(opened == 4, "two gateways starting together on a new state file once made one report it damaged")
        }
    }

    @Test func aThompsonSelectorRestoresWhatItSaved() throws {
        let (dir, path) = try Self.temporaryPath()
        defer { try? FileManager.default.removeItem(at: dir) }
        let settings = RouteFixtures.settings(RouteFixtures.providers(3))
        var learner = ThompsonSelector(settings: settings)
        for _ in 0..<30 { learner.learn(RouteFeedback(provider: 1, task: nil, score: 0.9)) }
        learner.learn(RouteFeedback(provider: 2, task: nil, score: 0.1))
        try RouteStateStore(path: path).save(learner.learnedArms)
        var restored = ThompsonSelector(settings: settings)
        #expect(restored.restore(try RouteStateStore(path: path).load()).isEmpty)
        #expect(restored.learnedArms == learner.learnedArms)
    }
}
