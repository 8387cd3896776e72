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
}
