#if canImport(Glibc)
import Glibc
#endif

/// A joinable OS thread running one closure: the producer or consumer side of a ring.
///
/// Dispatch queues share a pool and may run both sides of a ring on one thread; a ring
/// handoff needs two threads that really run at once.
package final class WorkerThread: @unchecked Sendable {
    private var thread: pthread_t
    private var joined = false

    private final class Body {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }

    /// Starts `body` on a new thread.
    package init(_ body: @escaping @Sendable () -> Void) throws {
        let context = Unmanaged.passRetained(Body(body)).toOpaque()
        var handle = pthread_t()
        let status = pthread_create(&handle, nil, { raw in
            guard let raw else { return nil }
            Unmanaged<Body>.fromOpaque(raw).takeRetainedValue().run()
            return nil
        }, context)
        guard status == 0 else {
            Unmanaged<Body>.fromOpaque(context).release()
            throw BufferError.threadFailed(reason: String(cString: strerror(status)))
        }
        thread = handle
    }

    /// Waits for the closure to return. Call once, from one thread.
    package func join() {
        guard !joined else { return }
        joined = true
        pthread_join(thread, nil)
    }

    /// Lets the thread run on unjoined (a reader stuck in `read(2)` on a terminal when the
    /// output went away); the process exit ends it.
    package func detach() {
        guard !joined else { return }
        joined = true
        pthread_detach(thread)
    }

    deinit { join() }
}
