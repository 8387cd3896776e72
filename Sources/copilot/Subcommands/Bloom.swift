import ArgumentParser

/// `copilot bloom`: persistent, crash-safe Bloom filters.
struct Bloom: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Persistent, crash-safe Bloom filters: create, add, check, dedup, info, merge.",
        discussion: """
            A filter file holds a split-block Bloom filter (one cache line per item, wyhash) with \
            a versioned, checksummed header. Files are written atomically (temporary file, fsync, \
            rename) under an advisory lock, so a crash or a second writer never damages one.

            Items are byte strings: the arguments, or stdin lines (split on \\n, any bytes, \
            lines over 1 MiB refused).

            Examples:
              copilot bloom create seen.bloom --capacity 1000000 --fp-rate 0.01
              printf 'alice\\nbob\\n' | copilot bloom add seen.bloom
              copilot bloom check seen.bloom alice && echo "maybe seen"
              copilot bloom dedup < urls.txt > unique.txt
              copilot bloom info seen.bloom --json
              copilot bloom merge all.bloom day1.bloom day2.bloom
            """,
        subcommands: [BloomCreate.self, BloomAdd.self, BloomCheck.self, BloomDedup.self, BloomInfo.self, BloomMerge.self, BloomSpeed.self])
}
