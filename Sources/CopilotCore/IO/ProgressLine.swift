#if canImport(Glibc)
import Glibc
#endif

/// A single status line on stderr, redrawn in place, shown only when stderr is a terminal so
/// that logs and pipes stay clean.
package final class ProgressLine {
    private let enabled: Bool
    private var lastWidth = 0
    private var lastDrawNs: UInt64 = 0

    /// A progress line; `enabled: false` (or stderr not a terminal) makes every call a no-op.
    package init(enabled: Bool = true) {
        self.enabled = enabled && isatty(STDERR_FILENO) == 1
    }

    /// Replaces the line with `text`, at most ten redraws a second unless `force`.
    package func update(_ text: String, force: Bool = true) {
        guard enabled else { return }
        let now = monotonicNanoseconds()
        if !force && now - lastDrawNs < 100_000_000 { return }
        lastDrawNs = now
        let padded = text.count < lastWidth ? text + String(repeating: " ", count: lastWidth - text.count) : text
        lastWidth = text.count
        writeStandardError("\r" + padded)
    }

    /// `label` with a bar and percentage for `done` of `total`.
    package func update(label: String, done: Double, total: Double) {
        guard enabled, total > 0 else { return }
        let fraction = min(max(done / total, 0), 1)
        let width = 30
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        update("\(label) [\(bar)] \(Int(fraction * 100))%", force: fraction >= 1)
    }

    /// Erases the line.
    package func clear() {
        guard enabled, lastWidth > 0 else { return }
        writeStandardError("\r" + String(repeating: " ", count: lastWidth) + "\r")
        lastWidth = 0
    }
}
