import Foundation
import Testing

/// Runs the built `copilot` binary (next to the test bundle in `.build/<config>/`) with
/// arguments and stdin, and captures exit status, stdout and stderr.
struct CLIResult {
    var status: Int32
    var stdout: Data
    var stderr: Data

    var out: String { String(decoding: stdout, as: UTF8.self) }
    var err: String { String(decoding: stderr, as: UTF8.self) }
}

enum CLI {
    /// `.build/debug/copilot`, found beside the running test binary.
    static var binary: URL {
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var dir = exe.deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("copilot")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return URL(fileURLWithPath: ".build/debug/copilot")
    }

    /// Runs `copilot args...`; `stdin` nil means /dev/null. A run longer than `timeout`
    /// seconds is killed and reported as status -1 (a hang is a failure, not a stuck suite).
    static func run(_ args: [String], stdin: Data? = nil, environment: [String: String] = [:], timeout: Double = 60) throws -> CLIResult {
        try run(executable: binary, args, stdin: stdin, environment: environment, timeout: timeout)
    }

    /// `bash -c script` in `directory`, with the copilot under test first on `PATH`.
    static func shell(_ script: String, in directory: URL, environment: [String: String] = [:], timeout: Double = 120) throws -> CLIResult {
        var env = environment
        env["PATH"] = binary.deletingLastPathComponent().path + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        return try run(
            executable: URL(fileURLWithPath: "/bin/bash"), ["-c", script], environment: env, timeout: timeout, directory: directory)
    }

    /// Runs `executable args...` with the environment of every CLI test (see ``run(_:stdin:environment:timeout:)``).
    static func run(
        executable: URL, _ args: [String], stdin: Data? = nil, environment: [String: String] = [:], timeout: Double = 60,
        directory: URL? = nil
    ) throws -> CLIResult {
        _ = sigpipeIgnored
        let process = Process()
        process.executableURL = executable
        process.arguments = args
        if let directory { process.currentDirectoryURL = directory }
        var env = ProcessInfo.processInfo.environment
        env["COPILOT_CONFIG"] = nil
        env["XDG_CONFIG_HOME"] = "/nonexistent"
        // The cache's default file (route serve, cache commands without --path) stays out of
        // the user's ~/.cache.
        env["XDG_CACHE_HOME"] = scratchCacheHome
        for (k, v) in environment { env[k] = v }
        process.environment = env
        let outPipe = Pipe(), errPipe = Pipe(), inPipe = Pipe()
        process.standardOutput = outPipe
        process.standardError = errPipe
        process.standardInput = stdin == nil ? FileHandle.nullDevice : inPipe
        try process.run()
        let group = DispatchGroup()
        let outData = DataBox(), errData = DataBox()
        DispatchQueue.global().async(group: group) { outData.data = outPipe.fileHandleForReading.readDataToEndOfFile() }
        DispatchQueue.global().async(group: group) { errData.data = errPipe.fileHandleForReading.readDataToEndOfFile() }
        if let stdin {
            DispatchQueue.global().async(group: group) {
                try? inPipe.fileHandleForWriting.write(contentsOf: stdin)
                try? inPipe.fileHandleForWriting.close()
            }
        }
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        var timedOut = false
        if process.isRunning {
            timedOut = true
            process.terminate()
        }
        process.waitUntilExit()
        group.wait()
        return CLIResult(status: timedOut ? -1 : process.terminationStatus, stdout: outData.data, stderr: errData.data)
    }

    /// A child that exits before reading all of its stdin must not kill the test runner with
    /// SIGPIPE; the write fails with EPIPE instead, which the runner ignores.
    private static let sigpipeIgnored: Bool = {
        signal(SIGPIPE, SIG_IGN)
        return true
    }()

    /// `XDG_CACHE_HOME` of every run: one scratch directory per test process.
    static let scratchCacheHome = FileManager.default.temporaryDirectory.appendingPathComponent("copilot-cli-cache-\(getpid())").path

    /// A fresh temporary directory, removed by the caller.
    static func temporaryDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("copilot-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }
}

/// Written by one reader thread, read after `group.wait()`.
private final class DataBox: @unchecked Sendable {
    var data = Data()
}
