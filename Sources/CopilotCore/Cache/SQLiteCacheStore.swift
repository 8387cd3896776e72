import Foundation

/// The `sqlite` backend, the embedded default: one database file (mode 0600), WAL, prepared
/// statements, bulk writes in one transaction, an index on the expiry time for the bounded
/// purge, and a busy timeout so several processes can share the file.
///
/// Every write that returns has been committed to the WAL, so a process killed at any moment
/// (`kill -9`) loses nothing that returned; `synchronous=NORMAL` trades only the last
/// transactions of a power cut for a write without fsync.
package final class SQLiteCacheStore: CacheStore, @unchecked Sendable {
    // @unchecked: the connection and its statements are only used under `lock`.
    package let name = "sqlite"
    package let location: String
    private let namespace: String
    private let lock = NSLock()
    private let db: SQLiteDatabase
    private let selectValue, upsert, deleteKey, listKeys, deleteSession, deleteAll, countLive, countAllLive, selectAll, purge, addCounter, selectCounters, selectUsage: SQLiteDatabase.Statement

    /// Opens or creates the cache at `path` (creating its directory, mode 0700, when missing).
    package init(path: String, namespace: String, busyTimeoutMs: Int32 = 5000) throws {
        location = path
        self.namespace = namespace
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw CacheError.storeUnavailable(path: path, reason: "it is a directory")
        }
        db = try SQLiteDatabase(path: path, busyTimeoutMs: busyTimeoutMs)
        do {
            try db.execute("PRAGMA journal_mode=WAL")
            try db.execute("PRAGMA synchronous=NORMAL")
            // Pages read through a memory map and a 32 MiB page cache instead of a pread(2)
            // per page: a hit then costs no copy out of the kernel.
            try db.execute("PRAGMA mmap_size=268435456")
            try db.execute("PRAGMA cache_size=-32768")
            try db.execute("""
                CREATE TABLE IF NOT EXISTS copilot_cache (
                    id INTEGER PRIMARY KEY,
                    namespace TEXT NOT NULL, session TEXT NOT NULL, key TEXT NOT NULL,
                    value BLOB NOT NULL, original_bytes INTEGER NOT NULL, expires_at_ms INTEGER,
                    UNIQUE (namespace, session, key));
                CREATE INDEX IF NOT EXISTS copilot_cache_expiry ON copilot_cache (expires_at_ms)
                    WHERE expires_at_ms IS NOT NULL;
                CREATE TABLE IF NOT EXISTS copilot_cache_stats (
                    namespace TEXT NOT NULL, name TEXT NOT NULL, value INTEGER NOT NULL,
                    PRIMARY KEY (namespace, name)) WITHOUT ROWID;
                """)
        } catch CacheError.sqlite(_, _, let code, let message) where [8, 14, 1032, 1544].contains(code) || code & 0xff == 8 || code & 0xff == 14 {
            // SQLITE_READONLY / SQLITE_CANTOPEN: the file or its directory (for -wal, -shm).
            throw CacheError.storeUnavailable(path: path, reason: "it is read-only or its directory is (\(message))")
        }
        selectValue = try db.prepare("SELECT value FROM copilot_cache WHERE namespace = ?1 AND session = ?2 AND key = ?3")
        upsert = try db.prepare("""
            INSERT INTO copilot_cache (namespace, session, key, value, original_bytes, expires_at_ms)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6)
            ON CONFLICT (namespace, session, key) DO UPDATE SET
                value = excluded.value, original_bytes = excluded.original_bytes, expires_at_ms = excluded.expires_at_ms
            """)
        deleteKey = try db.prepare("DELETE FROM copilot_cache WHERE namespace = ?1 AND session = ?2 AND key = ?3")
        listKeys = try db.prepare("SELECT key, expires_at_ms FROM copilot_cache WHERE namespace = ?1 AND session = ?2 AND key >= ?3 ORDER BY key")
        deleteSession = try db.prepare("DELETE FROM copilot_cache WHERE namespace = ?1 AND session = ?2")
        deleteAll = try db.prepare("DELETE FROM copilot_cache WHERE namespace = ?1")
        countLive = try db.prepare("SELECT count(*) FROM copilot_cache WHERE namespace = ?1 AND session = ?2 AND (expires_at_ms IS NULL OR expires_at_ms > ?3)")
        countAllLive = try db.prepare("SELECT count(*) FROM copilot_cache WHERE namespace = ?1 AND (expires_at_ms IS NULL OR expires_at_ms > ?2)")
        selectAll = try db.prepare("SELECT session, key, value FROM copilot_cache WHERE namespace = ?1 ORDER BY session, key")
        purge = try db.prepare("DELETE FROM copilot_cache WHERE id IN (SELECT id FROM copilot_cache WHERE expires_at_ms <= ?1 LIMIT ?2)")
        addCounter = try db.prepare("""
            INSERT INTO copilot_cache_stats (namespace, name, value) VALUES (?1, ?2, ?3)
            ON CONFLICT (namespace, name) DO UPDATE SET value = value + excluded.value
            """)
        selectCounters = try db.prepare("SELECT name, value FROM copilot_cache_stats WHERE namespace = ?1")
        selectUsage = try db.prepare("""
            SELECT count(*), coalesce(sum(length(value)), 0), coalesce(sum(original_bytes + \(CacheValueCodec.headerBytes) - length(value)), 0)
            FROM copilot_cache WHERE namespace = ?1 AND (expires_at_ms IS NULL OR expires_at_ms > ?2)
            """)
    }

    private func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    /// One key's value; the caller holds `lock`.
    private func select(_ k: MemoryKey) throws -> [UInt8]? {
        defer { selectValue.reset() }
        try selectValue.bind(1, namespace)
        try selectValue.bind(2, k.session ?? "")
        try selectValue.bind(3, k.key)
        return try selectValue.step() ? selectValue.blob(0) : nil
    }

    package func read(_ keys: [MemoryKey]) throws -> [[UInt8]?] {
        try locked { try keys.map(select) }
    }

    package func readOne(_ key: MemoryKey) throws -> [UInt8]? {
        try locked { try select(key) }
    }

    package func withStoredValue<T>(_ k: MemoryKey, _ body: (UnsafeRawBufferPointer) -> T) throws -> T? {
        try locked {
            defer { selectValue.reset() }
            return try namespace.withCString { ns in
                try (k.session ?? "").withCString { session in
                    try k.key.withCString { key in
                        try selectValue.bind(1, borrowing: ns)
                        try selectValue.bind(2, borrowing: session)
                        try selectValue.bind(3, borrowing: key)
                        return try selectValue.step() ? selectValue.withBlob(0, body) : nil
                    }
                }
            }
        }
    }

    package func write(_ entries: [(MemoryKey, StoredBlob)]) throws {
        try locked {
            let body = {
                for (k, blob) in entries {
                    defer { self.upsert.reset() }
                    try self.upsert.bind(1, self.namespace)
                    try self.upsert.bind(2, k.session ?? "")
                    try self.upsert.bind(3, k.key)
                    try self.upsert.bind(4, blob.bytes)
                    try self.upsert.bind(5, Int64(blob.originalBytes))
                    try self.upsert.bind(6, blob.expiresAtMs)
                    try self.upsert.run()
                }
            }
            if entries.count == 1 { try body() } else { try db.transaction(body) }
        }
    }

    package func remove(_ keys: [MemoryKey]) throws -> Int {
        try locked {
            try db.transaction {
                var n = 0
                for k in keys {
                    defer { deleteKey.reset() }
                    try deleteKey.bind(1, namespace)
                    try deleteKey.bind(2, k.session ?? "")
                    try deleteKey.bind(3, k.key)
                    try deleteKey.run()
                    n += db.changes
                }
                return n
            }
        }
    }

    package func list(prefix: String, session: String?) throws -> [(key: String, expiresAtMs: Int64?)] {
        try locked {
            defer { listKeys.reset() }
            try listKeys.bind(1, namespace)
            try listKeys.bind(2, session ?? "")
            try listKeys.bind(3, prefix)
            var out: [(key: String, expiresAtMs: Int64?)] = []
            while try listKeys.step() {
                let key = listKeys.text(0)
                guard key.hasPrefix(prefix) else { break }
                out.append((key, listKeys.int64(1)))
            }
            return out
        }
    }

    package func removeSession(_ session: String, nowMs: Int64) throws -> Int {
        try locked {
            try db.transaction {
                defer { countLive.reset(); deleteSession.reset() }
                try countLive.bind(1, namespace)
                try countLive.bind(2, session)
                try countLive.bind(3, nowMs)
                let live = try countLive.step() ? Int(countLive.int64(0) ?? 0) : 0
                try deleteSession.bind(1, namespace)
                try deleteSession.bind(2, session)
                try deleteSession.run()
                return live
            }
        }
    }

    package func removeAll(nowMs: Int64) throws -> Int {
        try locked {
            try db.transaction {
                defer { countAllLive.reset(); deleteAll.reset() }
                try countAllLive.bind(1, namespace)
                try countAllLive.bind(2, nowMs)
                let live = try countAllLive.step() ? Int(countAllLive.int64(0) ?? 0) : 0
                try deleteAll.bind(1, namespace)
                try deleteAll.run()
                return live
            }
        }
    }

    package func scan() throws -> [(MemoryKey, [UInt8])] {
        try locked {
            defer { selectAll.reset() }
            try selectAll.bind(1, namespace)
            var out: [(MemoryKey, [UInt8])] = []
            while try selectAll.step() {
                let session = selectAll.text(0)
                out.append((MemoryKey(session: session.isEmpty ? nil : session, key: selectAll.text(1)), selectAll.blob(2)))
            }
            return out
        }
    }

    package func purgeExpired(nowMs: Int64, limit: Int) throws -> Int {
        try locked {
            defer { purge.reset() }
            try purge.bind(1, nowMs)
            try purge.bind(2, Int64(limit))
            try purge.run()
            return db.changes
        }
    }

    package func persist(_ delta: CacheCounters) throws {
        guard !delta.isZero else { return }
        try locked {
            try db.transaction {
                for (name, value) in zip(CacheCounters.names, delta.values) where value != 0 {
                    defer { addCounter.reset() }
                    try addCounter.bind(1, namespace)
                    try addCounter.bind(2, name)
                    try addCounter.bind(3, Int64(value))
                    try addCounter.run()
                }
            }
        }
    }

    package func usage(nowMs: Int64) throws -> StoreUsage {
        try locked {
            var usage = StoreUsage()
            defer { selectCounters.reset(); selectUsage.reset() }
            try selectCounters.bind(1, namespace)
            while try selectCounters.step() { usage.counters.add(selectCounters.text(0), Int(selectCounters.int64(1) ?? 0)) }
            try selectUsage.bind(1, namespace)
            try selectUsage.bind(2, nowMs)
            if try selectUsage.step() {
                usage.entries = Int(selectUsage.int64(0) ?? 0)
                usage.bytesStored = Int(selectUsage.int64(1) ?? 0)
                usage.bytesSaved = Int(selectUsage.int64(2) ?? 0)
            }
            return usage
        }
    }

    /// `PRAGMA integrity_check`'s answer (`ok` for a sound file).
    package func integrityCheck() throws -> String {
        try locked {
            let s = try db.prepare("PRAGMA integrity_check")
            return try s.step() ? s.text(0) : "no answer"
        }
    }
}
