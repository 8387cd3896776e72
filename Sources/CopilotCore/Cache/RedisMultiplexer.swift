import Foundation
import Synchronization

/// Concurrent callers share a few Redis connections, and whatever they send while one of them
/// is on the wire goes out as one pipeline: the first caller to find a connection idle writes
/// every queued command in one write, reads every reply, and hands each caller its own (flat
/// combining, what ioredis calls auto-pipelining and Lettuce a shared connection). Fifty
/// threads asking at once then cost the server a few large reads instead of fifty small ones.
///
/// Replies come back in order on a connection, so each caller gets exactly the replies to its
/// commands; a connection that fails fails every command of its batch and is reopened by the
/// next caller.
package final class RedisMultiplexer: Sendable {
    private let lanes: [Lane]
    private let next = Atomic<Int>(0)

    /// `connections` lanes, each opening its connection on first use with `open`.
    package init(connections: Int, open: @escaping @Sendable () throws -> RedisConnection) {
        lanes = (0..<max(1, connections)).map { _ in Lane(open: open) }
    }

    /// Sends `commands` (in order, as one unit) and returns their replies.
    package func execute(_ commands: [[[UInt8]]]) throws -> [RedisReply] {
        let lane = lanes[next.add(1, ordering: .relaxed).oldValue % lanes.count]
        return try lane.execute(commands)
    }

    /// Closes every idle connection (after the server went away).
    package func reset() {
        for lane in lanes { lane.reset() }
    }
}

/// One caller's commands and, once sent, their replies or the error.
private final class PendingCall: @unchecked Sendable {
    // @unchecked: `result` is written by the lane's leader before `done` is signalled and read
    // by the caller after it waits.
    let commands: [[[UInt8]]]
    var result: Result<[RedisReply], any Error> = .failure(CacheError.redisUnreachable(url: "", reason: "not sent"))
    let done = DispatchSemaphore(value: 0)

    init(_ commands: [[[UInt8]]]) { self.commands = commands }
}

/// One connection and the queue in front of it.
private final class Lane: Sendable {
    private struct State {
        var pending: [PendingCall] = []
        var busy = false
    }

    private let state = Mutex(State())
    private let connection = Mutex<RedisConnection?>(nil)
    private let open: @Sendable () throws -> RedisConnection

    init(open: @escaping @Sendable () throws -> RedisConnection) { self.open = open }

    func reset() {
        connection.withLock { $0 = nil }
    }

    func execute(_ commands: [[[UInt8]]]) throws -> [RedisReply] {
        let call = PendingCall(commands)
        let lead = state.withLock { s -> Bool in
            s.pending.append(call)
            if s.busy { return false }
            s.busy = true
            return true
        }
        if lead {
            drain()
        } else {
            call.done.wait()
        }
        return try call.result.get()
    }

    /// Sends batches until the queue is empty; only one thread drains a lane at a time.
    private func drain() {
        while true {
            let batch = state.withLock { s -> [PendingCall] in
                let b = s.pending
                s.pending.removeAll(keepingCapacity: true)
                if b.isEmpty { s.busy = false }
                return b
            }
            if batch.isEmpty { return }
            send(batch)
            for call in batch { call.done.signal() }
        }
    }

    private func send(_ batch: [PendingCall]) {
        do {
            let conn = try connection.withLock { c -> RedisConnection in
                if let c, !c.broken { return c }
                let fresh = try open()
                c = fresh
                return fresh
            }
            let replies = try conn.pipeline(batch.flatMap(\.commands))
            var offset = 0
            for call in batch {
                call.result = .success(Array(replies[offset..<offset + call.commands.count]))
                offset += call.commands.count
            }
        } catch {
            connection.withLock { $0 = nil }
            for call in batch { call.result = .failure(error) }
        }
    }
}
