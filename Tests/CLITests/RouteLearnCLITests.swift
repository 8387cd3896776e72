import Foundation
import Testing

@Suite struct RouteLearnCLITests {
    @Test func simulatePrintsRegretTablesThatFavourThompsonSampling() throws {
        let r = try CLI.run(["route", "simulate", "--seeds", "2", "--events", "400", "--json"])
        #expect(r.status == 0, "\(r.err)")
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [[String: Any]])
        #expect(rows.map { $0["policy"] as? String } == ["thompson", "epsilon-greedy 0.1", "static weights"])
        let regret = rows.map { ($0["regret_before"] as? Double ?? 0) + ($0["regret_after"] as? Double ?? 0) }
        #expect(regret[0] < regret[1] && regret[0] < regret[2], "\(regret)")
        let table = try CLI.run(["route", "simulate", "--seeds", "1", "--events", "200", "--world", "close-call", "--feedback", "graded"])
        #expect(table.status == 0)
        #expect(table.out.hasPrefix("close-call world, graded feedback, 200 events per task, 1 seeds"))
        #expect(table.out.contains("| thompson |"))
        let bad = try CLI.run(["route", "simulate", "--forgetting", "2"])
        #expect(bad.status != 0 && bad.err.contains("--forgetting must be in 0.5...1"))
    }

    @Test func feedbackChecksItsScoreAndSaysWhenTheGatewayIsAway() throws {
        let bad = try CLI.run(["route", "feedback", "req-1", "--score", "1.5"])
        #expect(bad.status != 0 && bad.status < 128 && bad.err.contains("--score 1.5 is not in 0...1"))
        let away = try CLI.run(["route", "feedback", "req-1", "--score", "1", "--url", "http://127.0.0.1:1"])
        #expect(away.status != 0 && away.status < 128 && away.err.contains("127.0.0.1:1"), "\(away.err)")
    }

    @Test func serveRefusesADamagedStateFileKeepsItAndResetStartsOver() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let state = dir.appendingPathComponent("state.sqlite")
        try Data("garbage".utf8).write(to: state)
        let config = dir.appendingPathComponent("route.toml")
        try """
            [route]
            state_path = "\(state.path)"
            [[route.providers]]
            name = "local"
            kind = "mock"
            models = ["m"]
            """.write(to: config, atomically: true, encoding: .utf8)
        let refused = try CLI.run(["route", "serve", "--config", config.path, "--port", "0"], timeout: 30)
        #expect(refused.status != 0 && refused.status < 128)
        #expect(refused.err.contains("damaged") && refused.err.contains("--reset-state"), "\(refused.err)")
        #expect(try Data(contentsOf: state) == Data("garbage".utf8))
    }
}
