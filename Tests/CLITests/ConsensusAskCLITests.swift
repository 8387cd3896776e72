import Foundation
import Testing

/// `consensus --ask`: a circle of mock experts through the in-process router.
@Suite struct ConsensusAskCLITests {
    static func config(_ dir: URL, providers: [(name: String, reply: String, delayMs: Int, failureRate: Double)], extra: String = "") throws -> String {
        var text = extra + "\n"
        for p in providers {
            text += """
                [[route.providers]]
                name = "\(p.name)"
                kind = "mock"
                models = ["model-\(p.name)"]
                mock_reply = "\(p.reply)"
                mock_delay_ms = \(p.delayMs)
                mock_failure_rate = \(p.failureRate)
                cost_input_per_1k = 1.0
                cost_output_per_1k = 2.0

                """
        }
        let url = dir.appendingPathComponent("route-\(UUID().uuidString).toml")
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    @Test func theExpertsAnswerAtOnceAndTheMajorityWinsWithTheSlowOneLeftOut() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = try Self.config(dir, providers: [
            ("a", "The meeting moved to Thursday at ten.", 200, 0),
            ("b", "The meeting moved to Thursday at ten.", 200, 0),
            ("c", "Thursday at ten: the meeting moved.", 200, 0),
            ("d", "Nobody said anything about it.", 200, 0),
            ("slow", "too late", 20_000, 0),
        ])
        let r = try CLI.run(["consensus", "--config", path, "--ask", "When is the meeting?", "--experts", "5", "--timeout-ms", "1500", "--json"])
        #expect(r.status == 0, "\(r.err)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
        let experts = try #require(object["experts"] as? [[String: Any]])
        #expect(experts.map { $0["model"] as? String } == ["model-a", "model-b", "model-c", "model-d", "model-slow"])
        #expect(experts.prefix(4).allSatisfy { $0["answer"] is String && ($0["cost"] as? Double ?? 0) > 0 && ($0["completion_tokens"] as? Int ?? 0) > 0 })
        #expect(experts[4]["answer"] is NSNull && (experts[4]["error"] as? String ?? "").contains("1500 ms"))
        #expect(r.err.contains("warning: expert model-slow gave no answer"))
        let consensus = try #require(object["consensus"] as? [String: Any])
        #expect((consensus["consensus"] as? String)?.contains("Thursday") == true)
        // The five questions went out at once: the panel took about the timeout, not the sum.
        let wall = object["wall_ms"] as? Double ?? 0
        #expect(wall >= 1500 && wall < 20_000)
        #expect(object["overhead_ms"] is Double && object["slowest_expert_ms"] is Double)
    }

    @Test func plainOutputIsTheConsensusAlone() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = try Self.config(dir, providers: [("a", "Canberra.", 0, 0), ("b", "Canberra.", 0, 0), ("c", "Canberra is the capital.", 0, 0)])
        let r = try CLI.run(["consensus", "--config", path, "--ask", "Capital of Australia?"])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.hasPrefix("Canberra."), "stdout composes in a pipe: \(r.out)")
        #expect(r.err.contains("expert model-a (a)"))
    }

    @Test func anExpertThatNamesAnotherEntityIsAContradictionNotPartOfTheMajority() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = try Self.config(dir, providers: [
            ("a", "The capital of Australia is Canberra.", 0, 0), ("b", "Canberra is the capital of Australia.", 0, 0),
            ("c", "The capital of Australia is Sydney.", 0, 0),
        ])
        let r = try CLI.run(["consensus", "--config", path, "--ask", "What is the capital of Australia?", "--experts", "3", "--json"])
        #expect(r.status == 0, "\(r.err)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
        let consensus = try #require(object["consensus"] as? [String: Any])
        #expect((consensus["consensus"] as? String)?.contains("Canberra") == true)
        #expect((consensus["dissent"] as? [String]) == ["model-c"], "\(consensus)")
        #expect(!((consensus["contradictions"] as? [Any]) ?? []).isEmpty, "\(consensus)")
    }

    @Test func badRequestsAreOneLineErrors() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let two = try Self.config(dir, providers: [("a", "x", 0, 0), ("b", "y", 0, 0)])
        let many = try CLI.run(["consensus", "--config", two, "--ask", "q", "--experts", "3"])
        #expect(many.status != 0 && many.status < 128 && many.err.contains("only 2 different models can answer"), "\(many.err)")
        let task = try CLI.run(["consensus", "--config", two, "--ask", "q", "--experts", "2", "--task", "nope"])
        #expect(task.status != 0 && task.err.contains("nope"), "\(task.err)")
        let both = try CLI.run(["consensus", "answers.jsonl", "--ask", "q"])
        #expect(both.status != 0 && both.err.contains("either an answers file or --ask"))
        let failing = try Self.config(dir, providers: [("a", "x", 0, 1), ("b", "y", 0, 1)])
        let none = try CLI.run(["consensus", "--config", failing, "--ask", "q", "--experts", "2"])
        #expect(none.status != 0 && none.status < 128 && none.err.contains("no expert answered"), "\(none.err)")
    }
}
