import Foundation

/// Everything that can go wrong with the response cache, its stores and its input.
public enum CacheError: Error, LocalizedError, Equatable {
    /// A key that is empty or longer than the limit.
    case invalidKey(key: String, reason: String)
    /// A session name that is empty, too long, or holds `{`, `}` or a control character.
    case invalidSession(name: String)
    /// A TTL that is negative, zero or longer than the limit, in seconds as the user gave it.
    case invalidTTL(seconds: String)
    /// A value larger than `[cache] max_value_bytes`.
    case valueTooLarge(bytes: Int, limitBytes: Int)
    /// The file at `path` exists and is not an SQLite database; it was left untouched.
    case notADatabase(path: String)
    /// The cache file or its directory cannot be created, opened or written.
    case storeUnavailable(path: String, reason: String)
    /// SQLite returned an error code on an operation.
    case sqlite(path: String, operation: String, code: Int32, message: String)
    /// A `redis://` or `unix://` URL that cannot be parsed; `url` is shown with its password masked.
    case invalidURL(url: String, reason: String)
    /// Redis cannot be reached (and no fallback is allowed); `url` is masked.
    case redisUnreachable(url: String, reason: String)
    /// Redis refused the password or user; `url` is masked, the password never shown.
    case redisAuthentication(url: String, reason: String)
    /// Redis answered a command with an error.
    case redisCommand(url: String, command: String, message: String)
    /// A line of an `import` file is not a valid entry; nothing was imported.
    case importLine(source: String, line: Int, reason: String)
    /// A chat-completion request that is not a JSON object with a `model` and `messages`.
    case invalidRequest(reason: String)
    /// zstd or lz4 failed to compress a value.
    case compression(codec: String, reason: String)

    public var errorDescription: String? {
        switch self {
        case .invalidKey(let key, let reason):
            "invalid key \(key.isEmpty ? "\"\"" : JSONText.quote(String(key.prefix(64)))): \(reason)"
        case .invalidSession(let name):
            "invalid session name \(JSONText.quote(String(name.prefix(64)))): give 1 to 200 characters without braces or control characters"
        case .invalidTTL(let seconds):
            "invalid TTL \(seconds): give a whole number of seconds from 1 to \(CacheLimits.maxTTLSeconds) (10 years), or leave --ttl out for the default"
        case .valueTooLarge(let bytes, let limit):
            "value of \(bytes) bytes is over the \(limit)-byte limit; raise [cache] max_value_bytes or store less"
        case .notADatabase(let path):
            "\(path) is not an SQLite database (left untouched); pass another --path or move the file away"
        case .storeUnavailable(let path, let reason):
            "cannot use cache file \(path): \(reason); pass a writable --path or fix the directory's permissions"
        case .sqlite(let path, let operation, let code, let message):
            "\(path): SQLite error \(code) during \(operation): \(message)"
        case .invalidURL(let url, let reason):
            "invalid cache URL \(url): \(reason); use redis://[user:password@]host:port/db or unix:///path/to/redis.sock"
        case .redisUnreachable(let url, let reason):
            "cannot reach Redis at \(url): \(reason); start redis-server, fix --url, or drop --no-fallback to use the embedded store"
        case .redisAuthentication(let url, let reason):
            "Redis at \(url) refused the credentials: \(reason); check the password in the URL or $COPILOT_REDIS_PASSWORD"
        case .redisCommand(let url, let command, let message):
            "Redis at \(url) refused \(command): \(message)"
        case .importLine(let source, let line, let reason):
            "\(source):\(line): \(reason); nothing was imported, fix the line and import again"
        case .invalidRequest(let reason):
            "invalid chat-completion request: \(reason); give a JSON object with \"model\" and \"messages\""
        case .compression(let codec, let reason):
            "\(codec) compression failed: \(reason)"
        }
    }
}

/// Limits shared by every store.
package enum CacheLimits {
    /// Longest key, in UTF-8 bytes.
    package static let maxKeyBytes = 8 * 1024
    /// Longest TTL, in seconds (ten years).
    package static let maxTTLSeconds: Int64 = 10 * 365 * 86_400
    /// Longest session name, in UTF-8 bytes.
    package static let maxSessionBytes = 200

    /// Refuses an empty or over-long key.
    package static func check(key: String) throws {
        if key.isEmpty { throw CacheError.invalidKey(key: key, reason: "keys cannot be empty; give at least one character") }
        if key.utf8.count > maxKeyBytes {
            throw CacheError.invalidKey(key: key, reason: "keys are at most \(maxKeyBytes) bytes; hash long keys (copilot cache key)")
        }
    }

    /// Refuses a session name Redis could not carry as a hash tag.
    package static func check(session: String?) throws {
        guard let session else { return }
        if session.isEmpty || session.utf8.count > maxSessionBytes
            || session.unicodeScalars.contains(where: { $0 == "{" || $0 == "}" || $0.value < 0x20 || $0.value == 0x7f }) {
            throw CacheError.invalidSession(name: session)
        }
    }

    /// Seconds as given on a command line or in a file, as milliseconds; refuses zero,
    /// negative, fractional and absurd values.
    package static func ttlMilliseconds(seconds text: String) throws -> Int64 {
        guard let s = Int64(text.trimmingCharacters(in: .whitespaces)), s >= 1, s <= maxTTLSeconds else {
            throw CacheError.invalidTTL(seconds: text)
        }
        return s * 1000
    }
}
