#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// A process-wide pool of worker threads for the many short parallel loops of a Whisper
/// decoder step (tens of microseconds each, about 20 per token).
///
/// `DispatchQueue.concurrentPerform` puts its workers to sleep between loops, and waking one
/// costs a futex round trip on every loop (20,000 futex calls on the 107 s clip). These
/// workers spin on a generation counter for a short while after each loop, so the next loop
/// of the same step finds them awake; after the spin they sleep on a condition variable, so
/// an idle process uses no CPU.
package final class SpinningWorkers: @unchecked Sendable {
    /// The shared pool; it starts workers on first use, as many as a call asks for.
    package static let shared = SpinningWorkers()

    /// Loop polls of an idle worker before it sleeps (tens of microseconds).
    static let spinPolls = 20_000

    private let generation = Atomic<Int>(0)
    private let nextIteration = Atomic<Int>(0)
    private let unfinished = Atomic<Int>(0)
    private let acknowledged = Atomic<Int>(0)
    private let busy = Atomic<Bool>(false)
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var sleepers = 0  // guarded by mutex
    private var workerCount = 0  // changed only by the caller holding `busy`
    private var threadsRefused = false  // likewise
    // The current loop; written by the caller holding `busy` before `generation` is released.
    private var job: ((Int) -> Void)?
    private var iterations = 0

    /// Starts a detached thread running its argument; false when the system refused one.
    typealias ThreadStarter = (@escaping () -> Void) -> Bool
    private let startThread: ThreadStarter

    /// A pool whose workers `startThread` starts (tests pass one that fails).
    init(startThread: @escaping ThreadStarter = SpinningWorkers.startDetachedThread) {
        self.startThread = startThread
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    /// pthread_create, detached; false when it fails (EAGAIN: a thread or memory limit).
    static func startDetachedThread(_ body: @escaping () -> Void) -> Bool {
        final class Box {
            let body: () -> Void
            init(_ body: @escaping () -> Void) { self.body = body }
        }
        var thread = pthread_t()
        let context = Unmanaged.passRetained(Box(body)).toOpaque()
        let status = pthread_create(&thread, nil, { raw in
            Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue().body()
            return nil
        }, context)
        guard status == 0 else {
            Unmanaged<Box>.fromOpaque(context).release()
            return false
        }
        pthread_detach(thread)
        return true
    }

    /// Runs `body(i)` for every i in 0..<iterations on the calling thread and up to
    /// `threads - 1` workers, and returns when all have finished. A call made while another is
    /// running (from a worker, or from a second thread) runs its iterations serially.
    package func perform(iterations count: Int, threads: Int, _ body: (Int) -> Void) {
        guard count > 1, threads > 1, busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged
        else {
            for i in 0..<count { body(i) }
            return
        }
        defer { busy.store(false, ordering: .releasing) }
        withoutActuallyEscaping(body) { body in
            startWorkers(upTo: min(threads, count) - 1)
            job = body
            iterations = count
            nextIteration.store(0, ordering: .relaxed)
            unfinished.store(count, ordering: .relaxed)
            acknowledged.store(0, ordering: .relaxed)
            generation.add(1, ordering: .releasing)
            pthread_mutex_lock(mutex)
            if sleepers > 0 { pthread_cond_broadcast(condition) }
            pthread_mutex_unlock(mutex)
            runIterations(body, count: count)
            // Wait for every worker to be done with this loop: until then a worker may still
            // read `job`, and one still claiming must not take an index of the next loop.
            var polls = 0
            while acknowledged.load(ordering: .acquiring) < workerCount || unfinished.load(ordering: .acquiring) > 0 {
                polls += 1
                if polls > 1000 { sched_yield() }
            }
            job = nil
        }
    }

    private func runIterations(_ body: (Int) -> Void, count: Int) {
        while true {
            let i = nextIteration.add(1, ordering: .relaxed).oldValue
            if i >= count { return }
            body(i)
            unfinished.subtract(1, ordering: .releasing)
        }
    }

    /// Starts workers until there are `wanted`; when the system refuses a thread, the pool
    /// keeps the workers it has (the caller runs whatever they do not take) and stops trying.
    private func startWorkers(upTo wanted: Int) {
        while workerCount < wanted && !threadsRefused {
            let seen = generation.load(ordering: .acquiring)
            if startThread({ [self] in workerLoop(seen: seen) }) {
                workerCount += 1
            } else {
                threadsRefused = true
            }
        }
    }

    private func workerLoop(seen start: Int) -> Never {
        var seen = start
        while true {
            var polls = 0
            var current = generation.load(ordering: .acquiring)
            while current == seen && polls < Self.spinPolls {
                polls += 1
                current = generation.load(ordering: .acquiring)
            }
            if current == seen {
                pthread_mutex_lock(mutex)
                sleepers += 1
                while generation.load(ordering: .acquiring) == seen { pthread_cond_wait(condition, mutex) }
                sleepers -= 1
                pthread_mutex_unlock(mutex)
                current = generation.load(ordering: .acquiring)
            }
            seen = current
            runCurrentJob()
            // Acknowledge only after runCurrentJob has returned and released its reference to
            // the job (the caller checks that the closure did not escape).
            acknowledged.add(1, ordering: .releasing)
        }
    }

    @inline(never)
    private func runCurrentJob() {
        if let body = job { runIterations(body, count: iterations) }
    }
}
