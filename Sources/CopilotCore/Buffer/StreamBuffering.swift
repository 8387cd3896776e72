import Foundation

/// A stage between a producer and a consumer of a byte stream (`copilot buffer`): copilot's
/// lock-free ``BufferStage``, or CopilotReference's prototype twin.
public protocol StreamBuffering: AnyObject, Sendable {
    /// Runs until the input ends (or the output closes, or an error), then returns the
    /// report. Throws ``OutputError/closed`` when the reader of the output went away.
    func run() throws -> BufferReport
    /// Asks the tail writer to write the current last N seconds now (SIGUSR1). Safe from any
    /// thread; ignored outside tail mode.
    func requestDump()
}

/// Byte totals updated by one thread each, read after both are joined.
package final class ByteCounters: @unchecked Sendable {
    package private(set) var bytesIn = 0
    package private(set) var bytesOut = 0
    package init() {}
    package func addIn(_ n: Int) { bytesIn += n }
    package func addOut(_ n: Int) { bytesOut += n }
}

/// The first error, dump requests and the end of the input, shared by the threads.
package final class StageState: @unchecked Sendable {
    private let condition = NSCondition()
    private var error: Error?
    private var dumpsRequested = 0
    private var inputEnded = false

    package init() {}

    package var outputClosed: Bool {
        condition.lock()
        defer { condition.unlock() }
        if case OutputError.closed? = error { return true }
        return false
    }

    package func fail(_ newError: Error) {
        condition.lock()
        if error == nil { error = newError }
        condition.broadcast()
        condition.unlock()
    }

    package func rethrow() throws {
        condition.lock()
        let e = error
        condition.unlock()
        if let e { throw e }
    }

    package func requestDump() {
        condition.lock()
        dumpsRequested += 1
        condition.broadcast()
        condition.unlock()
    }

    package func finishInput() {
        condition.lock()
        inputEnded = true
        condition.broadcast()
        condition.unlock()
    }

    /// Waits for a dump request (returns false) or the end of the input (returns true).
    package func waitForDumpOrEnd() -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while dumpsRequested == 0 && !inputEnded { condition.wait() }
        if dumpsRequested > 0 && !inputEnded {
            dumpsRequested -= 1
            return false
        }
        return true
    }

    /// Waits for the writer, then the reader (left behind when the output closed: it may sit
    /// in read(2) on a terminal forever, and the process exit ends it), then throws the first
    /// error or a cut last sample frame, else reports.
    package func finish(
        writer: WorkerThread, reader: WorkerThread, counters: ByteCounters, settings: BufferSettings, inputName: String,
        statistics: () -> RingStatistics
    ) throws -> BufferReport {
        writer.join()
        if outputClosed {
            reader.detach()
        } else {
            reader.join()
        }
        try rethrow()
        if counters.bytesIn % settings.bytesPerFrame != 0 {
            throw BufferError.truncatedInput(
                input: inputName, byteCount: counters.bytesIn, bytesPerFrame: settings.bytesPerFrame, format: settings.formatName)
        }
        return BufferReport(
            bytesIn: counters.bytesIn, bytesOut: counters.bytesOut, statistics: statistics(),
            bytesPerSecond: settings.sampleRate * settings.bytesPerFrame)
    }
}
