@testable import CopilotCore
import Testing

/// The event loop's in-place command encoding against hiredis's own formatter.
@Suite struct RedisCommandsTests {
    @Test func encodingMatchesHiredis() {
        var rng = SplitMix64(seed: 7)
        for _ in 0..<300 {
            let argc = 1 + Int(rng.next() % 6)
            let args: [[UInt8]] = (0..<argc).map { _ in
                let length = [0, 1, 9, 10, 99, 100, 1000, 70_000][Int(rng.next() % 8)]
                return (0..<length).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            }
            var commands = RedisCommands()
            commands.append(args)
            commands.append([Array("GET".utf8)])
            #expect(commands.count == 2)
            let first = RedisConnection.format(args)
            #expect(Array(commands.bytes[..<commands.ends[0]]) == first)
            #expect(Array(commands.bytes[commands.ends[0]...]) == RedisConnection.format([Array("GET".utf8)]))
        }
    }

    @Test func decimalsAndBuiltArgumentsEncodeAsText() {
        for value: Int64 in [0, 7, 9, 10, 99, 100, 60_000, -1, -10, Int64.max, Int64.min] {
            var commands = RedisCommands()
            commands.begin(arguments: 3)
            commands.argument(Array("PX".utf8))
            commands.argument(decimal: value)
            commands.argument(length: 5) { $0.append(contentsOf: "ab:cd".utf8) }
            commands.end()
            #expect(commands.bytes == RedisConnection.format([Array("PX".utf8), Array(String(value).utf8), Array("ab:cd".utf8)]))
        }
    }
}
