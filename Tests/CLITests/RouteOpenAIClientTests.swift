import Foundation
import Testing

/// The official `openai` Python package against `copilot route serve`, plain and streamed.
/// Needs `benchmarks/.venv` with `openai` installed (`.ci/run` makes it); skipped without.
@Suite struct RouteOpenAIClientTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let python = repository.appendingPathComponent("benchmarks/.venv/bin/python")

    static var hasOpenAI: Bool {
        guard FileManager.default.isExecutableFile(atPath: python.path) else { return false }
        let check = Process()
        check.executableURL = python
        check.arguments = ["-c", "import openai"]
        check.standardOutput = FileHandle.nullDevice
        check.standardError = FileHandle.nullDevice
        guard (try? check.run()) != nil else { return false }
        check.waitUntilExit()
        return check.terminationStatus == 0
    }

    static let script = """
        import sys, openai
        client = openai.OpenAI(base_url=sys.argv[1] + "/v1", api_key="tok-python", max_retries=0)
        r = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hello from python"}])
        print("plain:", r.choices[0].message.content)
        print("provider:", r.model)
        stream = client.chat.completions.create(model="m", stream=True, messages=[{"role": "user", "content": "streamed words here"}])
        print("stream:", "".join(c.choices[0].delta.content or "" for c in stream if c.choices))
        try:
            client.chat.completions.create(model="gpt-9", messages=[{"role": "user", "content": "x"}])
        except openai.NotFoundError as e:
            print("missing:", e.status_code, e.code)
        bad = openai.OpenAI(base_url=sys.argv[1] + "/v1", api_key="wrong", max_retries=0)
        try:
            bad.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
        except openai.AuthenticationError as e:
            print("auth:", e.status_code, e.code)
        print("models:", [m.id for m in client.models.list()])
        """

    @Test(.enabled(if: hasOpenAI, "needs benchmarks/.venv with the openai package (made by .ci/run)"))
    func officialClientTalksToTheGateway() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = dir.appendingPathComponent("route.toml").path
        try "[[route.providers]]\nname = \"echoer\"\nkind = \"mock\"\nmodels = [\"m\"]\nmock_mode = \"echo\"\n"
            .write(toFile: config, atomically: true, encoding: .utf8)
        let (server, port, _) = try RouteServeCLITests.start(
            config: config, extra: ["--auth-token-env", "COPILOT_TEST_TOKEN"], environment: ["COPILOT_TEST_TOKEN": "tok-python"])
        defer {
            server.terminate()
            server.waitUntilExit()
        }
        let client = Process()
        client.executableURL = Self.python
        client.arguments = ["-c", Self.script, "http://127.0.0.1:\(port)"]
        let out = Pipe(), err = Pipe()
        client.standardOutput = out
        client.standardError = err
        try client.run()
        let output = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let errors = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        client.waitUntilExit()
        #expect(client.terminationStatus == 0, "\(errors)")
        #expect(output.contains("plain: hello from python\n"))
        #expect(output.contains("provider: m\n"))
        #expect(output.contains("stream: streamed words here\n"))
        #expect(output.contains("missing: 404 model_not_found\n"))
        #expect(output.contains("auth: 401 invalid_api_key\n"))
        #expect(output.contains("models: ['m']\n"))
    }
}
