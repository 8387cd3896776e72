import Foundation
import Synchronization

/// One thread that drives a pool of non-blocking Redis connections with poll(2), the way
/// redis-benchmark drives its clients: callers on any thread (or task) hand it calls, and on
/// each turn it queues them on connections, writes every connection's output once, reads
/// whatever replies have come and completes their calls. Async callers therefore wait without
/// holding a thread, and fifty of them cost one thread, not fifty.
///
/// The calls of one turn are packed onto as few connections as carry them (about 16 KiB of
/// commands each, the size Redis reads at once), and the next turn starts on the next
/// connection: fifty callers' pipelines leave in one or two writes, and the server reads them
/// in as many reads, instead of fifty of each.
///
/// The loop is also a `TaskExecutor`: tasks that prefer it run on its thread between turns, so
/// a caller's continuation resumes where its reply was read, with no hand-off to another
/// thread (NIO's event loops work the same way).
///
/// A connection opens on its first call and is reopened by the next call after it fails; a
/// connection whose oldest command has had no reply for `timeoutMs` is closed (its calls fail
/// with ``CacheError/redisUnreachable(url:reason:)``), so a hung server cannot hang a caller.
package final class RedisEventLoop: TaskExecutor {
    private let inbox: Inbox
    private let done = DispatchSemaphore(value: 0)
    private let url: RedisURL
    /// Commands a connection takes in one turn before the turn's next calls go to the next
    /// connection: about 110 GETs, whose replies Redis writes back in one write (it writes at
    /// most 64 KiB to a client per event; more costs it a write handler and another turn).
    private static let turnBytesPerConnection = 4 * 1024

    /// A loop for `connections` connections to `url`, its thread started now.
    package init(url: RedisURL, connections: Int, timeoutMs: Int) throws {
        self.url = url
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else {
            throw CacheError.redisUnreachable(url: url.description, reason: "cannot start the event loop: \(String(cString: strerror(errno)))")
        }
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        let inbox = Inbox(readFD: fds[0], writeFD: fds[1])
        self.inbox = inbox
        let lanes = LoopState(url: url, lanes: max(1, connections), timeoutMs: Int64(max(1, timeoutMs)))
        let done = self.done
        let executor = asUnownedTaskExecutor()
        let thread = Thread {
            Self.run(lanes, inbox: inbox, executor: executor)
            done.signal()
        }
        thread.name = "copilot-redis"
        thread.start()
    }

    deinit {
        inbox.stop()
        done.wait()
    }

    /// Sends `commands` as one unit and returns their replies, suspending the caller (not its
    /// thread) meanwhile.
    package func execute(_ commands: RedisCommands) async throws -> [RedisReply] {
        try await withUnsafeThrowingContinuation { continuation in
            submit(RedisCall(commands, resuming: continuation))
        }
    }

    /// Runs `job` on the loop's thread, at its next turn.
    package func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        if !inbox.post(job: job) {
            // Stopping: run it here rather than drop it (its task may be finishing).
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }

    /// Hands `call` to the loop; its completion runs on the loop's thread.
    package func submit(_ call: RedisCall) {
        if !inbox.post(call) {
            call.finish(.failure(.redisUnreachable(url: url.description, reason: "the cache is closing")))
        }
    }

    /// Where callers leave calls for the loop, and how they wake it (a self-pipe).
    private final class Inbox: Sendable {
        private struct State {
            var submitted: [RedisCall] = []
            var jobs: [UnownedJob] = []
            /// True while the loop sleeps in poll (a post must then wake it).
            var sleeping = false
            var stopping = false
        }

        private let state = Mutex(State())
        let readFD: Int32
        private let writeFD: Int32

        init(readFD: Int32, writeFD: Int32) {
            self.readFD = readFD
            self.writeFD = writeFD
        }

        deinit {
            Glibc.close(readFD)
            Glibc.close(writeFD)
        }

        /// Queues `call`; false once the loop is stopping.
        func post(_ call: RedisCall) -> Bool { post { $0.submitted.append(call) } }

        /// Queues a task's job; false once the loop is stopping.
        func post(job: UnownedJob) -> Bool { post { $0.jobs.append(job) } }

        /// Applies `add` unless stopping, waking the loop if it sleeps.
        private func post(_ add: (inout State) -> Void) -> Bool {
            let (accepted, mustWake) = state.withLock { s -> (Bool, Bool) in
                if s.stopping { return (false, false) }
                add(&s)
                defer { s.sleeping = false }
                return (true, s.sleeping)
            }
            if mustWake { wake() }
            return accepted
        }

        func stop() {
            state.withLock { $0.stopping = true }
            wake()
        }

        private func wake() {
            var one: UInt8 = 1
            _ = Glibc.write(writeFD, &one, 1)
        }

        /// Moves the posted calls into `batch` and jobs into `jobs`; true when the loop must stop.
        func take(into batch: inout [RedisCall], jobs: inout [UnownedJob]) -> Bool {
            state.withLock { s in
                swap(&batch, &s.submitted)
                swap(&jobs, &s.jobs)
                return s.stopping
            }
        }

        /// Adds the posted calls to `batch`.
        func takeCalls(into batch: inout [RedisCall]) {
            state.withLock { s in
                batch += s.submitted
                s.submitted.removeAll(keepingCapacity: true)
            }
        }

        /// Marks the loop asleep unless work is waiting; returns the poll timeout to use.
        func sleepTimeout(busy: Bool) -> Int32 {
            state.withLock { s in
                if !s.submitted.isEmpty || !s.jobs.isEmpty || s.stopping { return 0 }
                s.sleeping = true
                return busy ? 50 : -1
            }
        }

        func awake() {
            state.withLock { $0.sleeping = false }
        }

        /// Empties the wake pipe.
        func drainWakes() {
            var scratch = [UInt8](repeating: 0, count: 64)
            while Glibc.read(readFD, &scratch, scratch.count) > 0 {}
        }

        /// Calls and jobs left when the loop stopped.
        func leftover() -> ([RedisCall], [UnownedJob]) {
            state.withLock { s in
                defer { s.submitted = []; s.jobs = [] }
                return (s.submitted, s.jobs)
            }
        }
    }

    /// The connections, touched by the loop thread alone.
    private final class LoopState: @unchecked Sendable {
        // @unchecked: created before the thread starts, then used by that thread only.
        let url: RedisURL
        let timeoutMs: Int64
        let lanes: [Lane]

        final class Lane {
            var connection: RedisAsyncConnection?
            /// When the oldest unanswered command was sent, or when the connect began.
            var waitingSinceMs: Int64 = 0
            var openedAtMs: Int64 = 0
            /// Queued calls this turn (its output is written once at the end of the turn).
            var touched = false
        }

        init(url: RedisURL, lanes: Int, timeoutMs: Int64) {
            self.url = url
            self.timeoutMs = timeoutMs
            self.lanes = (0..<lanes).map { _ in Lane() }
        }

        /// The lane's open connection, opening one when there is none.
        func connection(_ lane: Lane, nowMs: Int64) throws -> RedisAsyncConnection {
            if let c = lane.connection, !c.isClosed { return c }
            let c = try RedisAsyncConnection(url: url)
            lane.connection = c
            lane.openedAtMs = nowMs
            lane.waitingSinceMs = nowMs
            return c
        }
    }

    private static func nowMs() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC_COARSE, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    private static func run(_ state: LoopState, inbox: Inbox, executor: UnownedTaskExecutor) {
        var batch: [RedisCall] = []
        var jobs: [UnownedJob] = []
        var touchedList: [Int] = []
        var polled: [pollfd] = []
        var polledLanes: [Int] = []
        var nextLane = 0
        // Replies are read here, then fed to the connection's parser.
        let readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)
        defer { readBuffer.deallocate() }
        while true {
            // 1. Run the tasks that prefer this loop (their calls join this turn's batch), then
            // queue every call on its connection.
            if inbox.take(into: &batch, jobs: &jobs) { break }
            if !jobs.isEmpty {
                for job in jobs { job.runSynchronously(on: executor) }
                jobs.removeAll(keepingCapacity: true)
                // Their calls go out this turn; jobs they made wait for the next.
                inbox.takeCalls(into: &batch)
            }
            var now = nowMs()
            var laneBytes = 0
            for call in batch {
                if laneBytes >= Self.turnBytesPerConnection {
                    nextLane = nextLane + 1 == state.lanes.count ? 0 : nextLane + 1
                    laneBytes = 0
                }
                let index = nextLane
                laneBytes += call.commands.bytes.count
                let lane = state.lanes[index]
                do {
                    let c = try state.connection(lane, nowMs: now)
                    if c.outstanding == 0 { lane.waitingSinceMs = now }
                    c.send(call)
                    if !lane.touched {
                        lane.touched = true
                        touchedList.append(index)
                    }
                } catch let error as CacheError {
                    call.finish(.failure(error))
                } catch {
                    call.finish(.failure(.redisUnreachable(url: state.url.description, reason: "\(error)")))
                }
            }
            batch.removeAll(keepingCapacity: true)
            if laneBytes > 0 { nextLane = nextLane + 1 == state.lanes.count ? 0 : nextLane + 1 }
            // 2. Write each connection's output once (a connect still going on waits for POLLOUT).
            for index in touchedList {
                let lane = state.lanes[index]
                lane.touched = false
                if let c = lane.connection, c.isConnected, c.wantsWrite { c.flush() }
            }
            touchedList.removeAll(keepingCapacity: true)
            // 3. Wait for replies, writability or a caller (not at all when calls are waiting).
            polled.removeAll(keepingCapacity: true)
            polledLanes.removeAll(keepingCapacity: true)
            polled.append(pollfd(fd: inbox.readFD, events: Int16(POLLIN), revents: 0))
            var busy = false
            for (index, lane) in state.lanes.enumerated() {
                guard let c = lane.connection, !c.isClosed else { continue }
                let writing = c.wantsWrite || !c.isConnected
                if c.outstanding > 0 || !c.isConnected { busy = true }
                polled.append(pollfd(fd: c.fd, events: Int16(POLLIN) | (writing ? Int16(POLLOUT) : 0), revents: 0))
                polledLanes.append(index)
            }
            let timeout = inbox.sleepTimeout(busy: busy)
            let ready = poll(&polled, nfds_t(polled.count), timeout)
            inbox.awake()
            // 4. Finish connects and writes, read replies.
            if ready > 0 {
                if polled[0].revents != 0 { inbox.drainWakes() }
                for (slot, index) in polledLanes.enumerated() {
                    let revents = Int32(polled[slot + 1].revents)
                    guard revents != 0, let c = state.lanes[index].connection, !c.isClosed else { continue }
                    let before = c.outstanding
                    if revents & Int32(POLLOUT | POLLERR | POLLHUP) != 0 { c.flush() }
                    if revents & Int32(POLLIN | POLLERR | POLLHUP) != 0 { c.readAvailable(using: readBuffer) }
                    if c.outstanding < before { state.lanes[index].waitingSinceMs = nowMs() }
                }
            }
            // 5. Close connections that stopped answering (or never connected).
            if busy {
                now = nowMs()
                for lane in state.lanes {
                    guard let c = lane.connection, !c.isClosed else { continue }
                    if !c.isConnected, now - lane.openedAtMs > state.timeoutMs {
                        c.close(reason: "no connection within \(state.timeoutMs) ms")
                    } else if c.outstanding > 0, now - lane.waitingSinceMs > state.timeoutMs {
                        c.close(reason: "no reply within \(state.timeoutMs) ms")
                    }
                }
            }
        }
        for lane in state.lanes { lane.connection?.close(reason: "the cache is closing") }
        let (calls, stranded) = inbox.leftover()
        // `batch` holds what the last take moved out of the inbox as it said to stop.
        for call in batch + calls { call.finish(.failure(.redisUnreachable(url: state.url.description, reason: "the cache is closing"))) }
        for job in jobs + stranded { job.runSynchronously(on: executor) }
    }
}
