/// Redis commands encoded as they go on the wire (RESP arrays of bulk strings, back to back),
/// built in place from their parts: no argument arrays, no per-argument copies. The event loop
/// hands each command's bytes to hiredis as it is (`redisAsyncFormattedCommand`).
package struct RedisCommands: Sendable {
    /// The encoded commands.
    package private(set) var bytes: [UInt8] = []
    /// Where each command ends in `bytes`.
    package private(set) var ends: [Int] = []

    /// An empty batch with room for about `reservingBytes` bytes in `commands` commands (one
    /// allocation each, not one per doubling).
    package init(reservingBytes: Int = 256, commands: Int = 4) {
        bytes.reserveCapacity(reservingBytes)
        ends.reserveCapacity(commands)
    }

    /// How many commands.
    package var count: Int { ends.count }

    /// A command of `args`.
    package mutating func append(_ args: [[UInt8]]) {
        begin(arguments: args.count)
        for a in args { argument(a) }
        end()
    }

    /// Starts a command of `arguments` arguments; add each with ``argument(_:)`` or
    /// ``argument(length:_:)``, then call ``end()``.
    package mutating func begin(arguments: Int) {
        bytes.append(UInt8(ascii: "*"))
        appendDecimal(arguments)
        bytes.append(13)
        bytes.append(10)
    }

    /// One argument.
    package mutating func argument(_ value: some Collection<UInt8>) {
        argument(length: value.count) { $0.append(contentsOf: value) }
    }

    /// One argument of `length` bytes that `write` appends.
    package mutating func argument(length: Int, _ write: (inout [UInt8]) -> Void) {
        bytes.append(UInt8(ascii: "$"))
        appendDecimal(length)
        bytes.append(13)
        bytes.append(10)
        let start = bytes.count
        write(&bytes)
        precondition(bytes.count - start == length, "a Redis argument's length was misstated")
        bytes.append(13)
        bytes.append(10)
    }

    /// A decimal argument (a TTL, a count), written in place.
    package mutating func argument(decimal value: Int64) {
        let magnitude = value.magnitude
        let divisor = Self.leadingDivisor(magnitude)
        var length = value < 0 ? 2 : 1
        var d = divisor
        while d >= 10 {
            length += 1
            d /= 10
        }
        argument(length: length) { out in
            if value < 0 { out.append(UInt8(ascii: "-")) }
            Self.appendDigits(magnitude, divisor: divisor, to: &out)
        }
    }

    /// Calls `body` with each command's bytes, in order, until it returns false.
    package func forEachCommand(_ body: (UnsafeBufferPointer<UInt8>) -> Bool) {
        bytes.withUnsafeBufferPointer { all in
            var start = 0
            for end in ends {
                guard body(UnsafeBufferPointer(rebasing: all[start..<end])) else { return }
                start = end
            }
        }
    }

    /// Ends the command begun last.
    package mutating func end() {
        ends.append(bytes.count)
    }

    private mutating func appendDecimal(_ n: Int) {
        let magnitude = UInt64(n)
        Self.appendDigits(magnitude, divisor: Self.leadingDivisor(magnitude), to: &bytes)
    }

    /// The power of ten of `n`'s first digit (1 for 0 to 9).
    private static func leadingDivisor(_ n: UInt64) -> UInt64 {
        var divisor: UInt64 = 1
        while divisor <= n / 10 { divisor *= 10 }
        return divisor
    }

    /// `n`'s decimal digits, from the one `divisor` selects down (no allocation).
    private static func appendDigits(_ n: UInt64, divisor: UInt64, to out: inout [UInt8]) {
        var d = divisor
        repeat {
            out.append(UInt8(ascii: "0") + UInt8(n / d % 10))
            d /= 10
        } while d > 0
    }
}
