import Foundation

/// Where a Redis server is: `redis://[user:password@]host[:port][/db]` or
/// `unix:///path/to/redis.sock[?db=N]`, the forms redis-cli and redis-py take. The password
/// may instead come from `$COPILOT_REDIS_PASSWORD` (or redis-cli's `$REDISCLI_AUTH`).
package struct RedisURL: Sendable, Equatable, CustomStringConvertible {
    /// TCP host and port, or a unix socket path.
    package enum Endpoint: Sendable, Equatable {
        /// `host:port`.
        case tcp(host: String, port: Int)
        /// A unix domain socket.
        case unix(path: String)
    }

    /// Where to connect.
    package var endpoint: Endpoint
    /// ACL user (Redis 6+), or nil for the default user.
    package var user: String?
    /// Password, or nil for none. Never printed: ``description`` masks it.
    package var password: String?
    /// Logical database number, 0 by default.
    package var database: Int

    /// Parses `text`; the password falls back to the environment when the URL has none.
    package init(_ text: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        let masked = RedisURL.mask(text)
        if text.hasPrefix("unix://") {
            var rest = String(text.dropFirst("unix://".count))
            database = 0
            if let q = rest.firstIndex(of: "?") {
                let query = rest[rest.index(after: q)...]
                rest = String(rest[..<q])
                for pair in query.split(separator: "&") {
                    let kv = pair.split(separator: "=", maxSplits: 1).map(String.init)
                    guard kv.count == 2 else { throw CacheError.invalidURL(url: masked, reason: "query \(pair) is not name=value") }
                    switch kv[0] {
                    case "db":
                        guard let n = Int(kv[1]), (0...15_999).contains(n) else { throw CacheError.invalidURL(url: masked, reason: "db must be a number") }
                        database = n
                    case "password": password = kv[1].removingPercentEncoding ?? kv[1]
                    default: throw CacheError.invalidURL(url: masked, reason: "unknown query parameter \(kv[0]) (db and password are known)")
                    }
                }
            }
            guard rest.hasPrefix("/"), rest.count > 1 else { throw CacheError.invalidURL(url: masked, reason: "the socket path must be absolute") }
            endpoint = .unix(path: rest)
        } else if text.hasPrefix("redis://") {
            var rest = Substring(text.dropFirst("redis://".count))
            if let at = rest.lastIndex(of: "@") {
                let credentials = rest[..<at]
                rest = rest[rest.index(after: at)...]
                if let colon = credentials.firstIndex(of: ":") {
                    let u = String(credentials[..<colon])
                    user = u.isEmpty ? nil : (u.removingPercentEncoding ?? u)
                    let p = String(credentials[credentials.index(after: colon)...])
                    password = p.isEmpty ? nil : (p.removingPercentEncoding ?? p)
                } else {
                    // redis://password@host, as redis-py reads a lone credential.
                    password = credentials.isEmpty ? nil : String(credentials)
                }
            }
            var db = 0
            if let slash = rest.firstIndex(of: "/") {
                let dbText = rest[rest.index(after: slash)...]
                rest = rest[..<slash]
                if !dbText.isEmpty {
                    guard let n = Int(dbText), (0...15_999).contains(n) else {
                        throw CacheError.invalidURL(url: masked, reason: "database \"\(dbText)\" is not a number")
                    }
                    db = n
                }
            }
            database = db
            var host = String(rest), port = 6379
            if host.hasPrefix("[") {
                // [::1]:6379
                guard let close = host.firstIndex(of: "]") else { throw CacheError.invalidURL(url: masked, reason: "unclosed [ in the host") }
                let after = host[host.index(after: close)...]
                let h = String(host[host.index(after: host.startIndex)..<close])
                if after.hasPrefix(":") {
                    guard let p = Int(after.dropFirst()), (1...65535).contains(p) else { throw CacheError.invalidURL(url: masked, reason: "port must be 1 to 65535") }
                    port = p
                }
                host = h
            } else if let colon = host.lastIndex(of: ":") {
                guard let p = Int(host[host.index(after: colon)...]), (1...65535).contains(p) else {
                    throw CacheError.invalidURL(url: masked, reason: "port must be 1 to 65535")
                }
                port = p
                host = String(host[..<colon])
            }
            guard !host.isEmpty else { throw CacheError.invalidURL(url: masked, reason: "no host") }
            guard host.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == ":" || $0 == "_" }) else {
                throw CacheError.invalidURL(url: masked, reason: "host \"\(host)\" has characters a host name cannot")
            }
            endpoint = .tcp(host: host, port: port)
        } else if text.hasPrefix("rediss://") {
            throw CacheError.invalidURL(url: masked, reason: "TLS (rediss://) is not supported; put Redis on loopback or a unix socket")
        } else {
            throw CacheError.invalidURL(url: masked, reason: "it must start with redis:// or unix://")
        }
        if password == nil {
            password = environment["COPILOT_REDIS_PASSWORD"].flatMap { $0.isEmpty ? nil : $0 }
                ?? environment["REDISCLI_AUTH"].flatMap { $0.isEmpty ? nil : $0 }
        }
    }

    /// The URL with any password replaced by `***`.
    package var description: String {
        let auth = password == nil ? (user.map { "\($0)@" } ?? "") : "\(user ?? ""):***@"
        switch endpoint {
        case .tcp(let host, let port):
            let h = host.contains(":") ? "[\(host)]" : host
            return "redis://\(auth)\(h):\(port)/\(database)"
        case .unix(let path):
            return "unix://\(path)" + (database == 0 ? "" : "?db=\(database)")
        }
    }

    /// `text` with whatever sits between `://` and `@` after a colon (or a lone credential)
    /// masked, for errors about URLs that do not parse.
    package static func mask(_ text: String) -> String {
        var out = text
        if let scheme = out.range(of: "://"), let at = out.range(of: "@", options: .backwards), scheme.upperBound <= at.lowerBound {
            let credentials = out[scheme.upperBound..<at.lowerBound]
            let user = credentials.firstIndex(of: ":").map { String(credentials[..<$0]) }
            out.replaceSubrange(scheme.upperBound..<at.lowerBound, with: (user ?? "") + ":***")
        }
        if let range = out.range(of: "password=") {
            let end = out[range.upperBound...].firstIndex(of: "&") ?? out.endIndex
            out.replaceSubrange(range.upperBound..<end, with: "***")
        }
        return out
    }
}
