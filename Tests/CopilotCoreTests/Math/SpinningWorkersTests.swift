@testable import CopilotCore
import Synchronization
import Testing

@Suite struct SpinningWorkersTests {
    /// Every iteration runs exactly once, loop after loop (workers both awake and asleep).
    @Test func everyIterationRunsOnceInEveryLoop() async throws {
        let counts = UnsafeMutableBufferPointer<Int>.allocate(capacity: 64)
        defer { counts.deallocate() }
        let box = UncheckedSendableBox(counts)
        for round in 0..<2000 {
            let iterations = 1 + round % 64, threads = 1 + round % 4
            counts.initialize(repeating: 0)
            SpinningWorkers.shared.perform(iterations: iterations, threads: threads) { i in box.value[i] += 1 }
            #expect(counts[0..<iterations].allSatisfy { $0 == 1 }, "round \(round)")
            #expect(counts[iterations...].allSatisfy { $0 == 0 }, "round \(round)")
            if round % 500 == 499 { try await Task.sleep(for: .milliseconds(5)) }  // let workers sleep
        }
    }

    /// A loop started inside a loop (or while another thread's loop runs) runs serially.
    @Test func nestedLoopsRunSerially() {
        final class Counter: Sendable { let value = Atomic<Int>(0) }
        let total = Counter()
        SpinningWorkers.shared.perform(iterations: 8, threads: 2) { _ in
            SpinningWorkers.shared.perform(iterations: 10, threads: 2) { _ in total.value.add(1, ordering: .relaxed) }
        }
        #expect(total.value.load(ordering: .relaxed) == 80)
    }

    /// A system that refuses threads (pthread_create failing) leaves the work to the caller:
    /// every iteration still runs once and the call returns (it used to wait for a worker that
    /// never started).
    @Test(.timeLimit(.minutes(1))) func refusedThreadsLeaveTheWorkToTheCaller() {
        final class Counter: Sendable { let value = Atomic<Int>(0) }
        for granted in 0..<3 {
            let left = Counter()
            left.value.store(granted, ordering: .relaxed)
            let pool = SpinningWorkers { body in
                guard left.value.subtract(1, ordering: .relaxed).oldValue > 0 else { return false }
                return SpinningWorkers.startDetachedThread(body)
            }
            let total = Counter()
            for _ in 0..<50 {
                pool.perform(iterations: 64, threads: 4) { _ in total.value.add(1, ordering: .relaxed) }
            }
            #expect(total.value.load(ordering: .relaxed) == 50 * 64, "\(granted) threads granted")
        }
    }
}
