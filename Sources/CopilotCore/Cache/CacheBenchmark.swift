import Foundation
import Synchronization

/// `copilot cache benchmark`: a load generator for any backend, shaped like redis-benchmark
/// (clients, pipeline depth, value size, requests), and a codec table on chat-completion JSON.
package enum CacheBenchmark {
    /// What to run.
    package struct Options: Sendable {
        /// `get` (keys written first) or `set`.
        package var operation: Operation = .get
        /// Concurrent clients (threads, each with its own connection from the pool).
        package var clients = 50
        /// Keys per call (one pipeline, transaction or bulk call).
        package var pipeline = 1
        /// Total keys read or written.
        package var requests = 100_000
        /// Bytes per value.
        package var valueBytes = 256
        /// Distinct keys (`key:N`), as redis-benchmark's `-r`.
        package var keyspace = 100_000
        /// What a client is: a task on the async API (the default: how the gateway calls the
        /// cache, and how redis-benchmark's clients share one event loop) or a thread on the
        /// blocking API.
        package var clientModel: ClientModel = .tasks

        /// Defaults as redis-benchmark's, with a 100,000-key space.
        package init() {}
    }

    /// What one client of the load is.
    package enum ClientModel: String, CaseIterable, Sendable {
        /// A Swift task calling the async API (`getManyAsync` ...), run on the cache's
        /// preferred executor (the Redis event loop, as redis-benchmark's clients share its
        /// one loop), or on the cooperative pool when it has none.
        case tasks
        /// A Swift task calling the async API on the cooperative pool (replies hop from the
        /// Redis loop's thread to a pool thread).
        case pooledTasks = "pooled-tasks"
        /// A thread calling the blocking API.
        case threads
    }

    /// The measured operation.
    package enum Operation: String, CaseIterable, Sendable {
        /// Reads of keys that exist.
        case get
        /// Writes.
        case set
    }

    /// What one run measured.
    package struct Result: Sendable {
        /// Keys read or written.
        package var requests: Int
        /// Wall time, in seconds.
        package var seconds: Double
        /// Call latencies (one pipeline each), in microseconds: p50, p99, p99.9.
        package var p50Us: Double, p99Us: Double, p999Us: Double
        /// Keys per second.
        package var requestsPerSecond: Double { Double(requests) / seconds }

        /// One JSON object.
        package func json(_ o: Options, backend: String) -> String {
            "{\"backend\":\(JSONText.quote(backend)),\"operation\":\"\(o.operation.rawValue)\",\"clients\":\(o.clients),\"client_model\":\"\(o.clientModel.rawValue)\",\"pipeline\":\(o.pipeline),\"value_bytes\":\(o.valueBytes),\"requests\":\(requests),\"seconds\":\(String(format: "%.4f", seconds)),\"requests_per_second\":\(Int(requestsPerSecond)),\"p50_us\":\(String(format: "%.1f", p50Us)),\"p99_us\":\(String(format: "%.1f", p99Us)),\"p999_us\":\(String(format: "%.1f", p999Us))}"
        }

        /// One line, like redis-benchmark's summary.
        package func text(_ o: Options, backend: String) -> String {
            String(format: "%@ %@: %d requests, %d clients (%@), pipeline %d, %d-byte values: %.0f requests/s in %.2f s; latency per call p50 %.1f us, p99 %.1f us, p99.9 %.1f us\n",
                   backend, o.operation.rawValue, requests, o.clients, o.clientModel.rawValue, o.pipeline, o.valueBytes, requestsPerSecond, seconds, p50Us, p99Us, p999Us)
        }
    }

    /// A chat completion of about 4 KiB like a local model's answer, varied by `i`.
    package static func chatCompletion(_ i: Int) -> String {
        let topics = ["the quarterly budget", "the launch date", "hiring two engineers", "the customer escalation", "the Q3 roadmap"]
        var sentences: [String] = []
        var rng = SplitMix64(seed: UInt64(i) &+ 17)
        for s in 0..<28 {
            let topic = topics[Int(rng.next() % UInt64(topics.count))]
            sentences.append("Point \(s + 1): regarding \(topic), the team agreed to revisit it on day \(rng.next() % 28 + 1) with \(rng.next() % 9 + 2) people.")
        }
        let content = sentences.joined(separator: " ")
        return """
            {"id":"chatcmpl-\(String(rng.next(), radix: 36))","object":"chat.completion","created":\(1_733_300_000 + i),"model":"llama3.2:3b","system_fingerprint":"fp_\(String(rng.next() % 100000, radix: 16))","choices":[{"index":0,"message":{"role":"assistant","content":\(JSONText.quote(content))},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":\(rng.next() % 400 + 50),"completion_tokens":\(rng.next() % 600 + 100),"total_tokens":\(rng.next() % 1000 + 150)}}
            """
    }

    /// The keys one client reads or writes per call, and the value written.
    private struct Load: Sendable {
        let value: [UInt8]
        let keyspace: UInt64
        let depth: Int
        let calls: Int
        let clients: Int
        /// Every key of the keyspace, made once (up to a million), so a call picks its keys
        /// as redis-benchmark does, without formatting a string per key.
        let keyTable: [String]

        init(_ o: Options) {
            let sample = Array(chatCompletion(1).utf8)
            value = Array(sample.prefix(o.valueBytes)) + [UInt8](repeating: 120, count: max(0, o.valueBytes - sample.count))
            keyspace = UInt64(max(1, o.keyspace))
            clients = max(1, o.clients)
            depth = max(1, o.pipeline)
            calls = (o.requests + depth - 1) / depth
            keyTable = keyspace <= 1_000_000 ? (0..<Int(keyspace)).map { "key:\($0)" } : []
        }

        func calls(of client: Int) -> Int { calls / clients + (client < calls % clients ? 1 : 0) }

        func keys(_ rng: inout SplitMix64) -> [String] {
            (0..<depth).map { _ in
                let n = rng.next() % keyspace
                return keyTable.isEmpty ? "key:\(n)" : keyTable[Int(n)]
            }
        }
    }

    /// Runs `options` against `cache`: for gets, the keyspace is written first (not timed).
    package static func run(cache: any ResponseCaching, options o: Options) async throws -> Result {
        let load = Load(o)
        if o.operation == .get {
            for start in stride(from: 0, to: Int(load.keyspace), by: 1000) {
                try await cache.setManyAsync((start..<min(start + 1000, Int(load.keyspace))).map { CacheWrite(key: "key:\($0)", value: load.value) })
            }
        }
        let start = DispatchTime.now().uptimeNanoseconds
        let latencies: [Double]
        switch o.clientModel {
        case .threads: latencies = try threadClients(cache, o.operation, load)
        case .tasks: latencies = try await taskClients(cache, o.operation, load, on: cache.preferredExecutor)
        case .pooledTasks: latencies = try await taskClients(cache, o.operation, load, on: nil)
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        try cache.sync()
        let sorted = latencies.sorted()
        func pct(_ p: Double) -> Double { sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] }
        return Result(requests: load.calls * load.depth, seconds: seconds, p50Us: pct(0.5), p99Us: pct(0.99), p999Us: pct(0.999))
    }

    private static func elapsedUs(since t0: UInt64) -> Double { Double(DispatchTime.now().uptimeNanoseconds - t0) / 1000 }

    /// Each client a thread on the blocking API; every call's latency in microseconds.
    private static func threadClients(_ cache: any ResponseCaching, _ operation: Operation, _ load: Load) throws -> [Double] {
        let failure = Mutex<(any Error)?>(nil)
        let latencies = Mutex<[Double]>([])
        DispatchQueue.concurrentPerform(iterations: load.clients) { c in
            var rng = SplitMix64(seed: UInt64(c) &+ 1)
            var mine: [Double] = []
            mine.reserveCapacity(load.calls(of: c))
            for _ in 0..<load.calls(of: c) {
                let keys = load.keys(&rng)
                let t0 = DispatchTime.now().uptimeNanoseconds
                do {
                    switch (operation, load.depth) {
                    case (.get, 1): _ = try cache.get(keys[0])
                    case (.get, _): _ = try cache.getMany(keys, session: nil)
                    case (.set, 1): try cache.set(keys[0], value: load.value)
                    case (.set, _): try cache.setMany(keys.map { CacheWrite(key: $0, value: load.value) })
                    }
                } catch {
                    failure.withLock { $0 = $0 ?? error }
                    return
                }
                mine.append(elapsedUs(since: t0))
            }
            latencies.withLock { $0 += mine }
        }
        if let error = failure.withLock({ $0 }) { throw error }
        return latencies.withLock { $0 }
    }

    /// Each client a task on the async API; every call's latency in microseconds.
    private static func taskClients(_ cache: any ResponseCaching, _ operation: Operation, _ load: Load, on executor: (any TaskExecutor)?) async throws -> [Double] {
        try await withThrowingTaskGroup(of: [Double].self) { group in
            for c in 0..<load.clients {
                group.addTask(executorPreference: executor) {
                    var rng = SplitMix64(seed: UInt64(c) &+ 1)
                    var mine: [Double] = []
                    mine.reserveCapacity(load.calls(of: c))
                    for _ in 0..<load.calls(of: c) {
                        let keys = load.keys(&rng)
                        let t0 = DispatchTime.now().uptimeNanoseconds
                        switch operation {
                        case .get: _ = try await cache.getManyAsync(keys, session: nil)
                        case .set: try await cache.setManyAsync(keys.map { CacheWrite(key: $0, value: load.value) })
                        }
                        mine.append(elapsedUs(since: t0))
                    }
                    return mine
                }
            }
            var all: [Double] = []
            for try await part in group { all += part }
            return all
        }
    }

    /// One codec's figures on chat-completion JSON.
    package struct CodecRow: Sendable {
        /// `zstd`, `lz4` or `zlib`.
        package var codec: String
        /// Original bytes over compressed bytes.
        package var ratio: Double
        /// MB of original JSON compressed per second, one thread.
        package var compressMBps: Double
        /// MB of original JSON restored per second, one thread.
        package var decompressMBps: Double
    }

    /// zstd, lz4 and zlib (the prototype's codec) on 500 generated chat completions.
    package static func codecTable() throws -> [CodecRow] {
        let docs = (0..<500).map { Array(chatCompletion($0).utf8) }
        let total = docs.reduce(0) { $0 + $1.count }
        func time(_ body: () throws -> Void) rethrows -> Double {
            var best = Double.infinity
            for _ in 0..<5 {
                let t0 = DispatchTime.now().uptimeNanoseconds
                try body()
                best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
            }
            return best
        }
        var rows: [CodecRow] = []
        for codec in ["zstd", "lz4", "zlib"] {
            func pack(_ d: [UInt8]) throws -> [UInt8] {
                switch codec {
                case "zstd": try d.withUnsafeBytes { try Zstd.compress($0) }
                case "lz4": try d.withUnsafeBytes { try LZ4.compress($0) }
                default: try Zlib.compress(d)
                }
            }
            let packed = try docs.map(pack)
            let compress = try time { for d in docs { _ = try pack(d) } }
            let decompress = try time {
                for (p, d) in zip(packed, docs) {
                    switch codec {
                    case "zstd": _ = p.withUnsafeBytes { Zstd.decompress($0, originalCount: d.count) }
                    case "lz4": _ = p.withUnsafeBytes { LZ4.decompress($0, originalCount: d.count) }
                    default: _ = try Zlib.decompress(p)
                    }
                }
            }
            rows.append(CodecRow(codec: codec, ratio: Double(total) / Double(packed.reduce(0) { $0 + $1.count }),
                                 compressMBps: Double(total) / 1e6 / compress, decompressMBps: Double(total) / 1e6 / decompress))
        }
        return rows
    }
}
