#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Runs a handler on a dispatch queue each time a signal arrives (SIGUSR1 for tail dumps),
/// instead of in a signal handler where almost nothing is safe.
package final class SignalWatcher: @unchecked Sendable {
    private let source: DispatchSourceSignal

    /// Starts watching `signal`; its default action is disabled while watched.
    package init(signal number: Int32, handler: @escaping @Sendable () -> Void) {
        Glibc.signal(number, SIG_IGN)
        source = DispatchSource.makeSignalSource(signal: number, queue: DispatchQueue.global())
        source.setEventHandler(handler: handler)
        source.resume()
    }

    deinit { source.cancel() }
}
