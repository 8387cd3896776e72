#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Puts one side of a ring to sleep until the other side makes progress, without costing the
/// other side a lock on its fast path.
///
/// The sleeper announces itself in `waiting`, then re-checks its condition; the waker publishes
/// its index and then looks at `waiting`. A sequentially consistent fence on both sides (the
/// Dekker pattern) guarantees at least one of them sees the other's store, so a wake-up is never
/// lost; the waker only takes the mutex when someone is actually asleep. The timed wait is a
/// second line of defence, not part of the protocol.
final class RingParker: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>
    private let waiting = Atomic<Int>(0)
    /// How much progress (free or filled elements) the sleeper needs before a wake-up is
    /// worth its cost; the waker compares its view of the ring against it.
    private let threshold = Atomic<Int>(1)

    init() {
        mutex = .allocate(capacity: 1)
        condition = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        condition.deallocate()
    }

    /// Returns once `ready()` is true: spins briefly (the other side is usually mid-copy and
    /// publishes within a microsecond), then sleeps on the condition variable. No
    /// `sched_yield` and no long spin: on a loaded machine both give the core away from, or
    /// keep it from, the very thread this one waits for.
    func wait(threshold wanted: Int = 1, until ready: () -> Bool) {
        for _ in 0..<256 where ready() { return }
        threshold.store(wanted, ordering: .relaxed)
        waiting.store(1, ordering: .sequentiallyConsistent)
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        if !ready() {
            pthread_mutex_lock(mutex)
            while !ready() {
                var deadline = timespec()
                clock_gettime(CLOCK_REALTIME, &deadline)
                deadline.tv_nsec += 50_000_000
                if deadline.tv_nsec >= 1_000_000_000 {
                    deadline.tv_sec += 1
                    deadline.tv_nsec -= 1_000_000_000
                }
                pthread_cond_timedwait(condition, mutex, &deadline)
            }
            pthread_mutex_unlock(mutex)
        }
        waiting.store(0, ordering: .relaxed)
    }

    /// Wakes the sleeper, if any. Call right after publishing the index the sleeper waits on
    /// with a sequentially consistent store (that store and this load are the waker's half of
    /// the Dekker pattern; on x86 the store is an `xchg`, cheaper than a separate fence).
    ///
    /// `available` is the waker's view of what the sleeper waits for (free room for a
    /// producer, unread elements for a consumer). The view may only overestimate, never
    /// underestimate, so no wake-up the sleeper needs is skipped; `Int.max` always wakes.
    @inline(__always)
    func wake(available: Int = .max) {
        if waiting.load(ordering: .sequentiallyConsistent) != 0 && available >= threshold.load(ordering: .relaxed) {
            pthread_mutex_lock(mutex)
            pthread_cond_broadcast(condition)
            pthread_mutex_unlock(mutex)
        }
    }
}
