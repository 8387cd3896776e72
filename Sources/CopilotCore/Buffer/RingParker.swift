#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Puts one side of a ring to sleep until the other side makes progress, without costing the
/// other side a lock on its fast path.
///
/// The sleeper announces itself in `waiting` (then a full fence), re-checks its condition and
/// sleeps; the waker publishes its index with a plain release store and then looks at
/// `waiting`, taking the mutex only when someone is asleep. The waker deliberately has no
/// full fence: after a 4 KB copy a fence (or an `xchg`) waits for every store of the copy to
/// drain, which measured at a sixth of the consumer's time. Without it, a wake-up can be
/// missed only when the waker's last publication races the sleeper's announcement by a few
/// nanoseconds; the sleeper therefore never sleeps longer than a short timeout before it looks
/// again (200 us, doubling to 20 ms while nothing happens), so such a miss costs one timeout
/// (200 us right after falling asleep, at most 20 ms after a long idle), nothing can hang, and
/// an idle side wakes at most 50 times a second.
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
        // Deadlines on the monotonic clock: a wall clock set back while a side sleeps would
        // otherwise stretch its bounded sleep (the safety net for a missed wake-up) by the
        // size of the step.
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
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
        var timeoutNs = 200_000
        while true {
            threshold.store(wanted, ordering: .relaxed)
            waiting.store(1, ordering: .sequentiallyConsistent)
            atomicMemoryFence(ordering: .sequentiallyConsistent)
            if ready() { break }
            pthread_mutex_lock(mutex)
            // A waker that saw us clears `waiting` before it broadcasts (under the mutex), so
            // a cleared flag here means the wake-up already happened: do not sleep through it.
            if waiting.load(ordering: .acquiring) != 0 && !ready() {
                var deadline = timespec()
                clock_gettime(CLOCK_MONOTONIC, &deadline)
                deadline.tv_nsec += timeoutNs
                if deadline.tv_nsec >= 1_000_000_000 {
                    deadline.tv_sec += 1
                    deadline.tv_nsec -= 1_000_000_000
                }
                if pthread_cond_timedwait(condition, mutex, &deadline) != 0 {
                    timeoutNs = min(timeoutNs * 2, 20_000_000)
                }
            }
            pthread_mutex_unlock(mutex)
            if ready() { break }
        }
        waiting.store(0, ordering: .relaxed)
    }

    /// Wakes the sleeper, if any. Call right after publishing the index the sleeper waits on.
    ///
    /// `available` is the waker's view of what the sleeper waits for (free room for a
    /// producer, unread elements for a consumer). The view may only overestimate, never
    /// underestimate, so no wake-up the sleeper needs is skipped; `Int.max` always wakes.
    @inline(__always)
    func wake(available: Int = .max) {
        if waiting.load(ordering: .acquiring) != 0 && available >= threshold.load(ordering: .relaxed)
            && waiting.exchange(0, ordering: .acquiringAndReleasing) != 0
        {
            // Only the waker that cleared the flag pays for the mutex and the broadcast.
            pthread_mutex_lock(mutex)
            pthread_cond_broadcast(condition)
            pthread_mutex_unlock(mutex)
        }
    }
}
