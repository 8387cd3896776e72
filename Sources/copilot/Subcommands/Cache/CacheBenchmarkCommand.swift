import ArgumentParser
import CopilotCore

extension CacheBenchmark.Operation: ExpressibleByArgument {}
extension CacheBenchmark.ClientModel: ExpressibleByArgument {}

/// `copilot cache benchmark`: load-test a backend the way redis-benchmark does.
struct CacheBenchmarkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "benchmark",
        abstract: "Load-test the configured store (clients, pipeline, value size), like redis-benchmark.",
        discussion: """
            Gets read keys written first (key:0 ... key:N-1, untimed); against Redis each client \
            is a task on the async API (one event-loop thread for every connection, as \
            redis-benchmark), against the embedded stores a thread on the blocking API \
            (--client-model chooses); a pool of one Redis connection per \
            client unless --pool-size is smaller (the event loop packs the calls of one turn onto \
            a few of them, pipelined together); a pipeline of P is one getMany/setMany call of P keys (one Redis pipeline, \
            one SQLite transaction). Use a scratch --path or --namespace: the \
            keys are left in the store. --codecs prints zstd, lz4 and zlib on chat-completion \
            JSON instead.

            Examples:
              copilot cache benchmark --url redis://127.0.0.1:6379/0 --clients 50 --requests 200000
              copilot cache benchmark --backend sqlite --path /tmp/b.sqlite --clients 1 --value-bytes 8192
              copilot cache benchmark --codecs
            """)

    @Option(help: "get or set.")
    var operation: CacheBenchmark.Operation = .get

    @Option(help: "Concurrent clients.")
    var clients = 50

    @Option(help: "What a client is: a task on the async API, or a thread on the blocking one (default: tasks for redis, threads for the embedded stores, which answer inline).")
    var clientModel: CacheBenchmark.ClientModel?

    @Option(help: "Keys per call (pipeline depth).")
    var pipeline = 1

    @Option(help: ArgumentHelp("Redis connections the clients share (default: one per client, as redis-benchmark).", valueName: "n"))
    var poolSize: Int?

    @Option(help: "Total keys read or written.")
    var requests = 100_000

    @Option(help: "Bytes per value.")
    var valueBytes = 256

    @Option(help: "Distinct keys.")
    var keyspace = 100_000

    @Flag(help: "Print compression ratio and speed of each codec on chat-completion JSON.")
    var codecs = false

    @Flag(help: "Print one JSON object.")
    var json = false

    @OptionGroup(title: "Store")
    var store: CacheOptions

    func validate() throws {
        for (name, v) in [("--clients", clients), ("--pipeline", pipeline), ("--requests", requests), ("--keyspace", keyspace)] where v < 1 {
            throw ValidationError("\(name) must be at least 1, got \(v)")
        }
        if clients > 1024 { throw ValidationError("--clients must be at most 1024, got \(clients)") }
        if valueBytes < 0 { throw ValidationError("--value-bytes must be at least 0") }
    }

    func run() async throws {
        try await runCacheCommandAsync {
            let out = FileDescriptorOutput.standardOutput
            if codecs {
                for row in try CacheBenchmark.codecTable() {
                    try out.write(json
                        ? "{\"codec\":\"\(row.codec)\",\"ratio\":\(String(format: "%.2f", row.ratio)),\"compress_mb_s\":\(Int(row.compressMBps)),\"decompress_mb_s\":\(Int(row.decompressMBps))}\n"
                        : "\(row.codec): ratio \(String(format: "%.2f", row.ratio))x, compress \(Int(row.compressMBps)) MB/s, decompress \(Int(row.decompressMBps)) MB/s (1 thread)\n")
                }
                return
            }
            var settings = try store.settings()
            // As many connections as clients, as redis-benchmark opens (--pool-size overrides).
            settings.redisPoolSize = poolSize ?? clients
            let cache = try settings.open()
            var o = CacheBenchmark.Options()
            o.operation = operation
            o.clients = clients
            o.pipeline = pipeline
            o.requests = requests
            o.valueBytes = valueBytes
            o.keyspace = keyspace
            o.clientModel = clientModel ?? (cache.preferredExecutor != nil ? .tasks : .threads)
            let result = try await CacheBenchmark.run(cache: cache, options: o)
            try out.write(json ? result.json(o, backend: cache.backendName) + "\n" : result.text(o, backend: cache.backendName))
        }
    }
}
