import CSQLite
import Foundation

/// The one wrapper around libsqlite3 (the `CSQLite` system library target): a connection
/// whose calls turn SQLite's return codes into thrown ``CacheError/sqlite(path:operation:code:message:)``.
/// No other file imports `CSQLite`.
///
/// A connection is not thread-safe on its own; its owner serialises calls (the SQLite store
/// holds it under a mutex). Statements are prepared once and reset between uses.
package final class SQLiteDatabase {
    /// The database file, as given.
    package let path: String
    private var handle: OpaquePointer?

    /// How `open` treats a missing file.
    package enum OpenMode {
        /// Create the file (mode 0600) when it does not exist.
        case createIfMissing
        /// The file must exist.
        case existingOnly
    }

    /// Opens (or creates, with permissions 0600, in a directory created with 0700 when
    /// missing) the database at `path`, waiting up to `busyTimeoutMs` for another process's
    /// lock on every statement. A file that is not a database is reported as
    /// ``CacheError/notADatabase(path:)`` without being written.
    package init(path: String, mode: OpenMode = .createIfMissing, busyTimeoutMs: Int32 = 5000) throws {
        self.path = path
        let directory = (path as NSString).deletingLastPathComponent
        if mode == .createIfMissing && !directory.isEmpty && !FileManager.default.fileExists(atPath: directory) {
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw CacheError.storeUnavailable(path: path, reason: "cannot create its directory \(directory)")
            }
        }
        if mode == .createIfMissing && !FileManager.default.fileExists(atPath: path) {
            // SQLite creates files with 0644 less the umask, and its -wal and -shm files copy
            // the database file's mode: creating it first with 0600 keeps all three private.
            let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            if fd < 0 && errno != EEXIST {
                throw CacheError.storeUnavailable(path: path, reason: String(cString: strerror(errno)))
            }
            if fd >= 0 { close(fd) }
        }
        var db: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        handle = db
        guard rc == SQLITE_OK else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close_v2(db)
            handle = nil
            if rc == SQLITE_CANTOPEN {
                throw CacheError.storeUnavailable(path: path, reason: FileManager.default.fileExists(atPath: path) ? "cannot open it for reading and writing" : "no such file")
            }
            throw CacheError.sqlite(path: path, operation: "open", code: rc, message: message)
        }
        sqlite3_busy_timeout(db, busyTimeoutMs)
        sqlite3_extended_result_codes(db, 1)
        // A read before any write: a file that is not a database fails here, untouched.
        do {
            try execute("SELECT count(*) FROM sqlite_master")
        } catch CacheError.sqlite(_, _, let code, _) where code & 0xff == SQLITE_NOTADB {
            sqlite3_close_v2(db)
            handle = nil
            throw CacheError.notADatabase(path: path)
        }
    }

    deinit { sqlite3_close_v2(handle) }

    /// Runs one or more statements that return no rows (pragmas, schema, `BEGIN`).
    package func execute(_ sql: String) throws {
        var error: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &error)
        defer { sqlite3_free(error) }
        if rc != SQLITE_OK {
            let message = error.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(handle))
            throw CacheError.sqlite(path: path, operation: String(sql.prefix(40)), code: rc, message: message)
        }
    }

    /// Compiles `sql` once for repeated use.
    package func prepare(_ sql: String) throws -> Statement {
        var statement: OpaquePointer?
        let rc = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard rc == SQLITE_OK, let statement else {
            throw CacheError.sqlite(path: path, operation: "prepare", code: rc, message: String(cString: sqlite3_errmsg(handle)))
        }
        return Statement(database: self, handle: statement, sql: sql)
    }

    /// Rows changed by the last INSERT, UPDATE or DELETE.
    package var changes: Int { Int(sqlite3_changes(handle)) }

    /// Runs `body` inside `BEGIN IMMEDIATE ... COMMIT`, rolled back when it throws.
    package func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    fileprivate func check(_ rc: Int32, _ operation: String) throws {
        guard rc == SQLITE_OK || rc == SQLITE_ROW || rc == SQLITE_DONE else {
            throw CacheError.sqlite(path: path, operation: operation, code: rc, message: String(cString: sqlite3_errmsg(handle)))
        }
    }

    /// A prepared statement: bind parameters (1-based), step, read columns (0-based), reset.
    package final class Statement {
        private unowned let database: SQLiteDatabase
        private let handle: OpaquePointer
        private let sql: String

        fileprivate init(database: SQLiteDatabase, handle: OpaquePointer, sql: String) {
            self.database = database
            self.handle = handle
            self.sql = sql
        }

        deinit { sqlite3_finalize(handle) }

        /// Clears bindings and rewinds, ready for the next use.
        package func reset() {
            sqlite3_reset(handle)
            sqlite3_clear_bindings(handle)
        }

        /// Binds text (copied by SQLite).
        package func bind(_ index: Int32, _ text: String) throws {
            try database.check(sqlite3_bind_text(handle, index, text, -1, sqliteTransient), "bind")
        }

        /// Binds a 64-bit integer.
        package func bind(_ index: Int32, _ value: Int64) throws {
            try database.check(sqlite3_bind_int64(handle, index, value), "bind")
        }

        /// Binds an integer or NULL.
        package func bind(_ index: Int32, _ value: Int64?) throws {
            if let value { try bind(index, value) } else { try database.check(sqlite3_bind_null(handle, index), "bind") }
        }

        /// Binds a double.
        package func bind(_ index: Int32, _ value: Double) throws {
            try database.check(sqlite3_bind_double(handle, index, value), "bind")
        }

        /// Binds a blob (copied by SQLite).
        package func bind(_ index: Int32, _ bytes: [UInt8]) throws {
            let rc = bytes.withUnsafeBytes { raw in
                sqlite3_bind_blob64(handle, index, raw.baseAddress ?? UnsafeRawPointer(bitPattern: 1), sqlite3_uint64(raw.count), sqliteTransient)
            }
            try database.check(rc, "bind")
        }

        /// Binds text that SQLite reads in place: valid only until `reset()`, so the caller keeps
        /// the pointer alive (inside `withCString`) until the statement is done.
        package func bind(_ index: Int32, borrowing text: UnsafePointer<CChar>) throws {
            try database.check(sqlite3_bind_text(handle, index, text, -1, nil), "bind")
        }

        /// `body` on column `index`'s bytes in SQLite's own buffer (valid until the next step).
        package func withBlob<T>(_ index: Int32, _ body: (UnsafeRawBufferPointer) -> T) -> T {
            let count = Int(sqlite3_column_bytes(handle, index))
            return body(UnsafeRawBufferPointer(start: count > 0 ? sqlite3_column_blob(handle, index) : nil, count: count))
        }

        /// Advances; true while a row is available.
        package func step() throws -> Bool {
            let rc = sqlite3_step(handle)
            if rc == SQLITE_ROW { return true }
            if rc == SQLITE_DONE { return false }
            let operation = String(sql.prefix(40))
            sqlite3_reset(handle)
            try database.check(rc, operation)
            return false
        }

        /// Steps to completion (a statement that returns no rows).
        package func run() throws {
            while try step() {}
        }

        /// Column `index` as an integer (NULL reads as nil).
        package func int64(_ index: Int32) -> Int64? {
            sqlite3_column_type(handle, index) == SQLITE_NULL ? nil : sqlite3_column_int64(handle, index)
        }

        /// Column `index` as a double (NULL reads as nil).
        package func double(_ index: Int32) -> Double? {
            sqlite3_column_type(handle, index) == SQLITE_NULL ? nil : sqlite3_column_double(handle, index)
        }

        /// Column `index` as text.
        package func text(_ index: Int32) -> String {
            guard let p = sqlite3_column_text(handle, index) else { return "" }
            return String(cString: p)
        }

        /// Column `index` as bytes, copied out.
        package func blob(_ index: Int32) -> [UInt8] {
            let count = Int(sqlite3_column_bytes(handle, index))
            guard count > 0, let p = sqlite3_column_blob(handle, index) else { return [] }
            return [UInt8](UnsafeRawBufferPointer(start: p, count: count))
        }
    }
}

/// SQLITE_TRANSIENT: SQLite copies bound values before the call returns.
private let sqliteTransient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)
