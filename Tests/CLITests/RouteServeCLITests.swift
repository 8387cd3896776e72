import CopilotCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing

/// `copilot route serve` as a process: it starts on loopback, answers, and on SIGTERM lets the
/// request in flight finish before it exits 0.
@Suite struct RouteServeCLITests {
    /// Starts `copilot route serve --port 0` and returns the process, its port and its stderr.
    static func start(config: String, extra: [String] = [], environment: [String: String] = [:]) throws -> (Process, Int, Pipe) {
        let process = Process()
        process.executableURL = CLI.binary
        process.arguments = ["route", "serve", "--config", config, "--port", "0"] + extra
        var env = ProcessInfo.processInfo.environment
        env["XDG_CACHE_HOME"] = CLI.scratchCacheHome
        for (k, v) in environment { env[k] = v }
        process.environment = env
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        // First stderr line: "copilot route: listening on http://127.0.0.1:PORT (...)".
        var text = ""
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline, !text.contains("listening on") {
            let data = err.fileHandleForReading.availableData
            if data.isEmpty { break }
            text += String(decoding: data, as: UTF8.self)
        }
        guard let range = text.range(of: #"127\.0\.0\.1:(\d+)"#, options: .regularExpression),
              let port = Int(text[range].split(separator: ":").last ?? "")
        else {
            process.terminate()
            throw CLIError("no listening line in: \(text)")
        }
        return (process, port, err)
    }

    struct CLIError: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }

    /// One HTTP/1.1 request over a plain loopback socket (`Connection: close`), so concurrent
    /// calls never queue behind each other as URLSession's do on Linux.
    static func post(port: Int, body: String?, path: String = "/v1/chat/completions") throws -> (status: Int, body: String) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw CLIError("socket() failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw CLIError("cannot connect to port \(port)") }
        var request = "\(body == nil ? "GET" : "POST") \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        if let body { request += "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)" } else { request += "\r\n" }
        let bytes = Array(request.utf8)
        guard write(fd, bytes, bytes.count) == bytes.count else { throw CLIError("short write") }
        var response = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n <= 0 { break }
            response += buffer[0..<n]
        }
        let text = String(decoding: response, as: UTF8.self)
        let status = text.split(separator: " ", maxSplits: 2).dropFirst().first.flatMap { Int($0) } ?? -1
        let payload = text.range(of: "\r\n\r\n").map { String(text[$0.upperBound...]) } ?? ""
        return (status, payload)
    }

    final class ResultBox: @unchecked Sendable {
        var status = 0
        var body = ""
    }

    @Test func sigtermLetsTheInFlightRequestFinish() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = dir.appendingPathComponent("route.toml").path
        try """
            [[route.providers]]
            name = "slow-mock"
            kind = "mock"
            models = ["m"]
            mock_reply = "finished"
            mock_delay_ms = 700
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let (process, port, _) = try Self.start(config: config)
        defer { if process.isRunning { process.terminate() } }
        let box = ResultBox()
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            let r = try? Self.post(port: port, body: #"{"model":"m","messages":[{"role":"user","content":"x"}]}"#)
            box.status = r?.status ?? -1
            box.body = r?.body ?? ""
            done.signal()
        }
        // Signal once the request is in flight (the mock waits 700 ms before answering).
        var inFlight = false
        var health = ""
        for _ in 0..<500 where !inFlight {
            health = try Self.post(port: port, body: nil, path: "/health").body
            inFlight = health.contains("\"in_flight\":1")
            if !inFlight { usleep(5_000) }
        }
        #expect(inFlight, "\(health)")
        kill(process.processIdentifier, SIGTERM)
        done.wait()
        process.waitUntilExit()
        #expect(box.status == 200, "\(box.body)")
        #expect(box.body.contains("finished"))
        #expect(process.terminationStatus == 0)
    }

    @Test func anUnsetAuthTokenVariableStopsStartUp() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = dir.appendingPathComponent("route.toml").path
        try "[[route.providers]]\nname = \"m\"\nkind = \"mock\"\nmodels = [\"m\"]\n".write(toFile: config, atomically: true, encoding: .utf8)
        let r = try CLI.run(["route", "serve", "--config", config, "--port", "0", "--auth-token-env", "COPILOT_TEST_NO_SUCH_TOKEN"])
        #expect(r.status != 0 && r.status < 128)
        #expect(r.err.contains("COPILOT_TEST_NO_SUCH_TOKEN") && r.err.contains("not set"))
        let bad = try CLI.run(["route", "serve", "--config", dir.appendingPathComponent("missing.toml").path])
        #expect(bad.status == 1 && bad.err.contains("missing.toml"))
    }

    @Test func statsAndAskTalkToARunningGateway() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = dir.appendingPathComponent("route.toml").path
        try "[[route.providers]]\nname = \"echoer\"\nkind = \"mock\"\nmodels = [\"m\"]\nmock_mode = \"echo\"\n"
            .write(toFile: config, atomically: true, encoding: .utf8)
        let (process, port, _) = try Self.start(config: config)
        defer {
            process.terminate()
            process.waitUntilExit()
        }
        let url = "http://127.0.0.1:\(port)"
        let ask = try CLI.run(["route", "ask", "--url", url, "ping over http"])
        #expect(ask.status == 0, "\(ask.err)")
        #expect(ask.out == "ping over http\n")
        let stats = try CLI.run(["route", "stats", "--url", url])
        #expect(stats.status == 0)
        #expect(stats.out.hasPrefix("status: ok  requests: 200=1"))
        #expect(stats.out.contains("echoer\tclosed\t0\t1\t0\t1.000"))
        let json = try CLI.run(["route", "stats", "--url", url, "--json"])
        let object = try JSONSerialization.jsonObject(with: json.stdout) as? [String: Any]
        #expect((object?["providers"] as? [[String: Any]])?.first?["name"] as? String == "echoer")
    }

    /// `kill -9` while a learning gateway answers and saves: the state file always opens and
    /// passes SQLite's integrity check, and what an earlier run saved is never lost (each run
    /// starts from it, so the evidence only grows).
    @Test func aKilledGatewayNeverLosesOrDamagesItsLearnedState() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let state = dir.appendingPathComponent("state.sqlite").path
        let config = dir.appendingPathComponent("route.toml").path
        try """
            [route]
            state_path = "\(state)"
            forgetting = 1
            [[route.providers]]
            name = "m"
            kind = "mock"
            models = ["m"]
            """.write(toFile: config, atomically: true, encoding: .utf8)
        var rng = SystemRandomNumberGenerator()
        var evidence = 0.0
        for round in 0..<6 {
            let (process, port, _) = try Self.start(config: config)
            for _ in 0..<5 { _ = try? Self.post(port: port, body: #"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#) }
            // Odd rounds outlive a save (every 2 s); even ones are killed at a random moment.
            usleep(round % 2 == 1 ? 2_600_000 : UInt32.random(in: 0...2_500_000, using: &rng))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            do {  // closed before the store opens the file
                let database = try SQLiteDatabase(path: state, mode: .existingOnly)
                let check = try database.prepare("PRAGMA integrity_check")
                #expect(try check.step() && check.text(0) == "ok", "round \(round)")
            }
            let now = try RouteStateStore(path: state).load().reduce(0) { $0 + $1.posterior.evidence }
            #expect(now >= evidence, "round \(round): saved evidence went from \(evidence) to \(now)")
            if round % 2 == 1 { #expect(now > evidence, "round \(round): a run that lived past a save added its answers") }
            evidence = now
        }
    }
}
