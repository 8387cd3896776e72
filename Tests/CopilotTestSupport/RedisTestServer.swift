import Foundation

/// Shared by the test targets: a real `redis-server` (Debian's package) on a free loopback port, persistence off, for one
/// test; stopped by `stop()` or when the object goes away.
public final class RedisTestServer: @unchecked Sendable {
    /// The executable, when installed.
    public static let executable: String? = ["/usr/bin/redis-server", "/usr/local/bin/redis-server"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }
    public static var available: Bool { executable != nil }

    public let port: Int
    public let password: String?
    private var process: Process?
    public let directory: URL

    public var url: String { password.map { "redis://:\($0)@127.0.0.1:\(port)/0" } ?? "redis://127.0.0.1:\(port)/0" }
    /// The server's unix socket.
    public var socketPath: String { directory.appendingPathComponent("redis.sock").path }

    public init(password: String? = nil, port: Int? = nil) throws {
        self.port = port ?? Self.freePort()
        self.password = password
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("copilot-redis-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try start()
    }

    deinit { stop(); try? FileManager.default.removeItem(at: directory) }

    /// Starts the server (again, after `kill`) and waits until it accepts connections.
    public func start() throws {
        guard let exe = Self.executable else { throw CocoaError(.fileNoSuchFile) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        var args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                    "--dir", directory.path, "--daemonize", "no", "--loglevel", "warning",
                    "--unixsocket", socketPath, "--unixsocketperm", "700"]
        if let password { args += ["--requirepass", password] }
        p.arguments = args
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        process = p
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if Self.canConnect(port: port) { return }
            usleep(20_000)
        }
        throw CocoaError(.fileReadUnknown)
    }

    /// SIGKILL, as a crash would.
    public func kill() {
        guard let p = process, p.isRunning else { return }
        Foundation.kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        process = nil
    }

    /// SIGSTOP: the server keeps its sockets but answers nothing (a hung server).
    public func pause() {
        if let p = process, p.isRunning { Foundation.kill(p.processIdentifier, SIGSTOP) }
    }

    /// SIGCONT after ``pause()``.
    public func resume() {
        if let p = process { Foundation.kill(p.processIdentifier, SIGCONT) }
    }

    /// Stops the server (SIGKILL: it holds nothing worth saving, and the test runner's
    /// children may not see SIGTERM).
    public func stop() { kill() }

    public static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    public static func canConnect(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } } == 0
    }
}

/// A temporary directory removed at deinit.
public final class TemporaryDirectory {
    public let url: URL
    public init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("copilot-cache-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(at: url) }
    public func path(_ name: String) -> String { url.appendingPathComponent(name).path }
}
