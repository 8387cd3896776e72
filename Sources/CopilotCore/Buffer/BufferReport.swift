import Foundation

/// What a finished stage did, for `--stats`.
public struct BufferReport: Sendable, Equatable {
    /// Bytes read from the input.
    public var bytesIn: Int
    /// Bytes written to the output.
    public var bytesOut: Int
    /// Ring counters in bytes (overruns, peak fill, capacity) and reads (underruns). In tail
    /// mode, overruns are the bytes that fell out of the tail window.
    public var statistics: RingStatistics
    /// Bytes of one second of audio, to turn byte counts into time.
    public var bytesPerSecond: Int

    /// One line for stderr, e.g. `buffer: in 64000 bytes, out 64000 bytes, overruns 0 bytes (0 ms), ...`.
    public var summary: String {
        func ms(_ bytes: Int) -> String { String(format: "%.0f ms", Double(bytes) * 1000 / Double(max(bytesPerSecond, 1))) }
        let percent = statistics.capacity > 0 ? 100 * Double(statistics.peakFill) / Double(statistics.capacity) : 0
        return "buffer: in \(bytesIn) bytes, out \(bytesOut) bytes, overruns \(statistics.overruns) bytes (\(ms(statistics.overruns))), "
            + "underruns \(statistics.underruns), peak fill \(statistics.peakFill) of \(statistics.capacity) bytes "
            + "(\(ms(statistics.peakFill)), " + String(format: "%.1f%%", percent) + ")"
    }
}
