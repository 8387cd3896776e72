import ArgumentParser

/// `copilot cache`: the LLM response cache.
struct Cache: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "An LLM response cache: embedded SQLite by default, Redis to scale out.",
        discussion: """
            Values are any bytes under string keys, with TTLs and sessions (named key groups \
            that one flush drops). Values over 1 KiB are compressed (zstd by default) and every \
            stored value carries a checksum, so damage reads as a miss, never as wrong bytes. \
            Backends: sqlite (one file, mode 0600, shared safely by several processes), redis \
            (falls back to the SQLite file while Redis is unreachable), memory, and tiered \
            (memory in front of sqlite or redis; over Redis the memory tiers of all processes \
            stay coherent).

            Exit status: 0 success (a hit), 1 a miss (get, exists, ttl), 2 an error.

            Examples:
              echo '{"answer": 42}' | copilot cache set q1 --ttl 3600
              copilot cache get q1
              copilot cache exists q1 && echo cached
              copilot cache set note "hello" --session standup-2026-12-04
              copilot cache flush --session standup-2026-12-04
              copilot cache key < request.json          # canonical key of a chat request
              copilot cache stats --json
              copilot cache export > backup.jsonl && copilot cache import --path new.sqlite < backup.jsonl
              copilot cache get q1 --url redis://127.0.0.1:6379/0
            """,
        subcommands: [
            CacheGet.self, CacheSet.self, CacheDel.self, CacheExists.self, CacheTTLCommand.self, CacheKeys.self,
            CacheStatsCommand.self, CacheFlush.self, CacheExport.self, CacheImport.self, CacheKeyCommand.self,
            CacheBenchmarkCommand.self, CacheWriteLoop.self,
        ])
}
