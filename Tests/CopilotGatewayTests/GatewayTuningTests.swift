import CopilotCore
@testable import CopilotGateway
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

/// The generation-parameter tuner in a serving gateway: it sets nothing before a task's first
/// score, then fills in what the client left unset (or everything, with `tune = true`), the
/// score of an answer reaches the tuner with the parameters it was sent with, and the
/// observations survive a restart.
@Suite struct GatewayTuningTests {
    static let tasks = """
        [[route.tasks]]
        name = "code"
        [[route.tasks]]
        name = "fixed"
        tune = true
        [[route.tasks]]
        name = "plain"
        tune = false
        """

    static func ask(_ client: any TestClientProtocol, task: String, extra: String = "") async throws -> TestResponse {
        var headers = GatewayTest.jsonHeaders
        headers[HTTPField.Name("x-copilot-task")!] = task
        let body = #"{"model":"m",\#(extra)"messages":[{"role":"user","content":"hi"}]}"#
        let r = try await GatewayTest.post(client, body: ByteBuffer(string: body), headers: headers)
        #expect(r.status == .ok, "\(String(buffer: r.body))")
        return r
    }

    static func score(_ client: any TestClientProtocol, _ answer: TestResponse, _ score: Double) async throws -> [String: Any] {
        let id = try #require(answer.headers[GatewayTest.requestIDHeader])
        let r = try await GatewayLearningTests.feedback(client, #"{"request_id":"\#(id)","score":\#(score)}"#)
        #expect(r.status == .ok, "\(String(buffer: r.body))")
        return try JSONSerialization.jsonObject(with: Data(r.body.readableBytesView)) as? [String: Any] ?? [:]
    }

    static func tuning(_ client: any TestClientProtocol) async throws -> [String: [String: Any]] {
        let health = try await client.execute(uri: "/health", method: .get)
        let object = try JSONSerialization.jsonObject(with: Data(health.body.readableBytesView)) as? [String: Any]
        var result: [String: [String: Any]] = [:]
        for t in object?["tuning"] as? [[String: Any]] ?? [] { result[t["task"] as? String ?? ""] = t }
        return result
    }

    /// Waits (bounded) until `task` has a current suggestion; the tuner works it out off the request path.
    static func waitForSuggestion(_ client: any TestClientProtocol, task: String) async throws -> [String: Any] {
        for _ in 0..<1000 {
            if let current = try await tuning(client)[task]?["current"] as? [String: Any] { return current }
            try await Task.sleep(nanoseconds: 10_000_000)
        }
        Issue.record("no suggestion for \(task) within 10 s")
        return [:]
    }

    static func gateway(urls: [String], path: String) throws -> (RouteSettings, GatewayOptions) {
        let settings = try GatewayTest.settings(urls: urls, extra: tasks)
        var options = GatewayOptions(host: "127.0.0.1", port: 0, environment: [:], logLevel: .critical)
        options.learningStore = try RouteStateStore(path: path)
        options.learningSaveSeconds = 0.05
        options.tuningObservations = try options.learningStore!.loadObservations()
        return (settings, options)
    }

    @Test func nothingIsSetBeforeAScoreThenOnlyWhatTheClientLeftUnset() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("copilot-tune-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("state.sqlite").path
        let up = FakeUpstream(.answer("ok"))
        try await FakeUpstream.run([up]) { urls in
            let (settings, options) = try Self.gateway(urls: urls, path: path)
            let (app, _) = buildApplication(settings: settings, selector: ThompsonSelector(settings: settings), options: options)
            try await app.test(.live) { client in
                // No score yet: the request goes as it came.
                let first = try await Self.ask(client, task: "code", extra: #""temperature":0.3,"#)
                #expect(up.lastBody["top_p"] == nil && up.lastBody["max_tokens"] == nil)
                #expect(first.headers[HTTPField.Name("x-copilot-tuned")!] == nil)
                #expect(try await Self.tuning(client)["code"]?["current"] == nil)
                #expect(try await Self.tuning(client)["plain"] == nil, "tune = false: no tuner")
                let firstScore = try await Self.score(client, first, 0.8)
                #expect(firstScore["parameters"] == nil, "top_p and max_tokens were the provider's own: nothing to observe")

                // The first score starts the tuner: the client's temperature stays, the rest is set.
                let suggested = try await Self.waitForSuggestion(client, task: "code")
                let second = try await Self.ask(client, task: "code", extra: #""temperature":0.3,"#)
                let sent = up.lastBody
                #expect(sent["temperature"] as? Double == 0.3)
                let topP = try #require(sent["top_p"] as? Double), maxTokens = try #require(sent["max_tokens"] as? Int)
                #expect(topP == suggested["top_p"] as? Double && maxTokens == suggested["max_tokens"] as? Int)
                #expect((0.05...1).contains(topP) && (16...4096).contains(maxTokens))
                #expect(second.headers[HTTPField.Name("x-copilot-tuned")!] == "temperature=0.3, top_p=\(topP), max_tokens=\(maxTokens)")
                let observed = try await Self.score(client, second, 0.6)
                #expect((observed["parameters"] as? [String: Any])?["observed"] as? Bool == true)
                #expect((observed["parameters"] as? [String: Any])?["top_p"] as? Double == topP)

                // A value outside the tuner's box is the client's to send; its score is not observed.
                let outside = try await Self.ask(client, task: "code", extra: #""max_tokens":9000,"#)
                #expect(up.lastBody["max_tokens"] as? Int == 9000)
                #expect((try await Self.score(client, outside, 0.2)["parameters"] as? [String: Any])?["observed"] as? Bool == false)

                // tune = true: the client's own values are replaced too.
                _ = try await Self.score(client, try await Self.ask(client, task: "fixed"), 0.5)
                let fixed = try await Self.waitForSuggestion(client, task: "fixed")
                _ = try await Self.ask(client, task: "fixed", extra: #""temperature":0.3,"top_p":0.5,"max_completion_tokens":100,"#)
                #expect(up.lastBody["temperature"] as? Double == fixed["temperature"] as? Double)
                #expect(up.lastBody["max_completion_tokens"] as? Int == fixed["max_tokens"] as? Int && up.lastBody["max_tokens"] == nil)

                // tune = false and requests without a task are never touched.
                _ = try await Self.score(client, try await Self.ask(client, task: "plain"), 1)
                _ = try await Self.ask(client, task: "plain")
                #expect(up.lastBody["temperature"] == nil && up.lastBody["top_p"] == nil)
                #expect(try await GatewayTest.post(client).status == .ok)
                #expect(up.lastBody["temperature"] == nil)

                // route stats shows each task's tuner.
                let health = String(buffer: try await client.execute(uri: "/health", method: .get).body)
                let table = try #require(GatewayStatsFormatter.plain(health))
                #expect(table.contains("tuned parameters (task, mode, observations, now sent, best so far)"), "\(table)")
                #expect(table.contains("code\tunset\t1\ttemperature ") && table.contains("fixed\talways\t0\ttemperature "), "\(table)")
            }
            // Stopped: the observation was saved; a new gateway suggests from it without a new score.
            let saved = try RouteStateStore(path: path).loadObservations()
            #expect(saved["code"]?.count == 1 && saved["code"]?.first?.score == 0.6)
            let (settings2, options2) = try Self.gateway(urls: urls, path: path)
            let (app2, _) = buildApplication(settings: settings2, selector: ThompsonSelector(settings: settings2), options: options2)
            try await app2.test(.live) { client in
                let current = try await Self.waitForSuggestion(client, task: "code")
                #expect(try await Self.tuning(client)["code"]?["observations"] as? Int == 1)
                _ = try await Self.ask(client, task: "code")
                #expect(up.lastBody["temperature"] as? Double == current["temperature"] as? Double)
            }
        }
    }

    @Test func everyObservationIsThereToSaveWhileSuggestionsAreWorkedOut() async throws {
        let tuning = GatewayTuning(tasks: [TaskSettings(name: "t")], seed: 1, observations: [:])
        var generator = SplitMix64(seed: 9)
        for i in 0..<60 {
            let p = GenerationParameters(temperature: generator.nextUnit() * 2, topP: 0.05 + generator.nextUnit() * 0.95, maxTokens: 16 + i * 50)
            #expect(tuning.observe("t", parameters: p, score: generator.nextUnit()))
            // A save may come at any moment, refits running or not: it must find them all.
            #expect(tuning.observations()["t"]?.count == i + 1)
        }
        for _ in 0..<1000 where tuning.summary().first?["basis"] as? String != "expected-improvement" {
            try await Task.sleep(nanoseconds: 10_000_000)
        }
        #expect(tuning.observations()["t"]?.count == 60)
        #expect(tuning.summary().first?["observations"] as? Int == 60)
    }

    @Test func aTunedBodyKeepsEveryOtherByteAndScansAgain() throws {
        let body = ByteBuffer(string: #"{ "model": "m", "temperature": 0.3, "messages": [{"role":"user","content":"x"}], "max_tokens": 50 }"#)
        let chat = try ChatRequest(body: body)
        let p = GenerationParameters(temperature: 0.7, topP: 0.9, maxTokens: 256)
        let unset = try #require(try chat.tuned(p, mode: .unset))
        #expect(String(buffer: unset.original) == #"{"top_p":0.9, "model": "m", "temperature": 0.3, "messages": [{"role":"user","content":"x"}], "max_tokens": 50 }"#)
        #expect(unset.parameters == GenerationParameters(temperature: 0.3, topP: 0.9, maxTokens: 50))
        let always = try #require(try chat.tuned(p, mode: .always))
        #expect(String(buffer: always.original) == #"{"top_p":0.9, "model": "m", "temperature": 0.7, "messages": [{"role":"user","content":"x"}], "max_tokens": 256 }"#)
        #expect(always.parameters == p && always.model == "m")
        let complete = try ChatRequest(body: always.original)
        #expect(try complete.tuned(p, mode: .unset) == nil, "nothing left unset")
        #expect(try chat.tuned(p, mode: .off) == nil)
    }
}
