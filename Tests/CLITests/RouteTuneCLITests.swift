import CopilotCore
import Foundation
import Testing

@Suite struct RouteTuneCLITests {
    /// Seven scored points: (temperature, top_p, max_tokens, score); the best near 0.7, 0.8, 600.
    static let points: [(Double, Double, Int, Double)] = [
        (0.2, 0.9, 200, 0.4), (1.5, 0.3, 2000, 0.1), (0.7, 0.8, 600, 0.9), (1.0, 0.6, 64, 0.5), (0.4, 0.95, 1000, 0.7),
        (1.8, 0.1, 30, 0.05), (0.8, 0.7, 500, 0.85),
    ]

    @Test func simulatePrintsATableWhereTheTunerBeatsRandomSearch() throws {
        let r = try CLI.run(["route", "tune", "--simulate", "--seeds", "2", "--budget", "30", "--json"])
        #expect(r.status == 0, "\(r.err)")
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [[String: Any]])
        #expect(rows.map { $0["policy"] as? String } == ["gaussian process + EI", "random search"])
        let best = rows.map { $0["median_best_value"] as? Double ?? 0 }
        #expect(best[0] > best[1], "\(best)")
        #expect(rows[0]["reached_share"] as? Double == 1, "\(rows[0])")
        let table = try CLI.run(["route", "tune", "--simulate", "--seeds", "1", "--budget", "20"])
        #expect(table.status == 0, "\(table.err)")
        #expect(table.out.hasPrefix("tuner: synthetic objective, noise 0.03, 1 seeds, 20 evaluations each"))
        #expect(table.out.contains("| gaussian process + EI | ") && table.out.contains("| random search | "))
    }

    @Test func observationsGiveTheSameSuggestionForTheSameSeed() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("tune-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: file) }
        let json = Self.points.map { #"{"parameters": {"temperature": \#($0.0), "top_p": \#($0.1), "max_tokens": \#($0.2)}, "score": \#($0.3)}"# }
        try Data(("[" + json.joined(separator: ",") + "]").utf8).write(to: file)
        let first = try CLI.run(["route", "tune", "--observations", file.path, "--seed", "5", "--json"])
        #expect(first.status == 0, "\(first.err)")
        let again = try CLI.run(["route", "tune", "--observations", file.path, "--seed", "5", "--json"])
        #expect(first.out == again.out)
        let report = try #require(try JSONSerialization.jsonObject(with: Data(first.out.utf8)) as? [String: Any])
        let suggestion = try #require(report["suggestion"] as? [String: Any])
        #expect(suggestion["basis"] as? String == "expected-improvement")
        let best = try #require(report["best"] as? [String: Any])
        let bestParameters = try #require(best["parameters"] as? [String: Any])
        #expect(bestParameters["max_tokens"] as? Int == 600 || bestParameters["max_tokens"] as? Int == 500, "\(best)")
        let plain = try CLI.run(["route", "tune", "--observations", file.path])
        #expect(plain.status == 0 && plain.out.hasPrefix("next: temperature "), "\(plain.out)")
    }

    @Test func badInputFailsWithAMessageThatSaysWhy() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("tune-bad-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data(#"[{"parameters": {"temperature": 0.5, "top_p": 0.5, "max_tokens": 100}, "score": 1.5}]"#.utf8).write(to: file)
        let score = try CLI.run(["route", "tune", "--observations", file.path])
        #expect(score.status != 0 && score.err.contains("feedback score 1.5 is not in 0...1"), "\(score.err)")
        let missing = try CLI.run(["route", "tune", "--observations", "/nonexistent/feedback.json"])
        #expect(missing.status != 0 && missing.err.contains("/nonexistent/feedback.json"), "\(missing.err)")
        let neither = try CLI.run(["route", "tune"])
        #expect(neither.status != 0 && neither.err.contains("give one of --task <task> (the gateway's learned state), --observations <file> or --simulate"))
        let help = try CLI.run(["route", "tune", "--help"])
        #expect(help.status == 0 && help.out.contains("copilot route tune --simulate --seeds 50"))
    }

    @Test func taskExplainsWhatTheGatewaySavedAndSaysWhyWhenThereIsNothing() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tune-task-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let state = dir.appendingPathComponent("state.sqlite").path
        let config = dir.appendingPathComponent("route.toml")
        try Data("""
            [route]
            state_path = "\(state)"
            [[route.providers]]
            name = "a"
            kind = "mock"
            models = ["m"]
            [[route.tasks]]
            name = "code"
            [[route.tasks]]
            name = "plain"
            tune = false
            """.utf8).write(to: config)
        let before = try CLI.run(["route", "tune", "--config", config.path, "--task", "code"])
        #expect(before.status == 1 && before.err.contains("no learned state at \(state) yet"), "\(before.err)")
        let observations = Self.points.map { TuningObservation(parameters: GenerationParameters(temperature: $0.0, topP: $0.1, maxTokens: $0.2), score: $0.3) }
        try RouteStateStore(path: state).save([], observations: ["code": observations])
        let r = try CLI.run(["route", "tune", "--config", config.path, "--task", "code"])
        #expect(r.status == 0 && r.out.hasPrefix("next: temperature ") && r.out.contains("after 7 observations"), "\(r.out)\(r.err)")
        #expect(r.out.contains("best: temperature 0.700, top_p 0.800, max_tokens 600") || r.out.contains("max_tokens 500"), "\(r.out)")
        for (args, message) in [
            (["--task", "nope"], "task \"nope\" is not in [[route.tasks]]; known tasks: code, plain"),
            (["--task", "plain"], "task plain has tune = false"),
        ] {
            let bad = try CLI.run(["route", "tune", "--config", config.path] + args)
            #expect(bad.status == 1 && bad.err.contains(message), "\(bad.err)")
        }
        try RouteStateStore(path: state).save([], observations: [:])
        let empty = try CLI.run(["route", "tune", "--config", config.path, "--task", "code"])
        #expect(empty.status == 1 && empty.err.contains("task code has no scored answers"), "\(empty.err)")
    }
}
