/// Thresholds of every provider's circuit breaker.
package struct BreakerSettings: Sendable, Equatable {
    /// Largest outcome window.
    package static let maxWindow = 1024
    /// Consecutive failures that open the breaker.
    package var consecutiveFailures: Int
    /// Failure fraction over the window that opens the breaker (once `minRequests` are in it).
    package var errorRate: Double
    /// Outcomes remembered for the error rate.
    package var window: Int
    /// Outcomes needed in the window before the error rate counts.
    package var minRequests: Int
    /// First cooldown before a half-open probe, in milliseconds.
    package var cooldownMs: Int
    /// Cooldowns double after each failed probe, up to this, in milliseconds.
    package var maxCooldownMs: Int

    /// 5 in a row, or half of the last 20 (at least 10 seen); 5 s cooldown growing to 60 s.
    package static let defaults = BreakerSettings(
        consecutiveFailures: 5, errorRate: 0.5, window: 20, minRequests: 10, cooldownMs: 5_000, maxCooldownMs: 60_000)

    /// Memberwise.
    package init(consecutiveFailures: Int, errorRate: Double, window: Int, minRequests: Int, cooldownMs: Int, maxCooldownMs: Int) {
        self.consecutiveFailures = consecutiveFailures
        self.errorRate = errorRate
        self.window = window
        self.minRequests = minRequests
        self.cooldownMs = cooldownMs
        self.maxCooldownMs = maxCooldownMs
    }
}

/// A breaker's state, as shown in stats and `/metrics` (0, 1, 2).
package enum BreakerState: String, Sendable, Codable, CaseIterable {
    /// Requests flow.
    case closed
    /// No requests until the cooldown ends.
    case open
    /// One probe request at a time decides between closed and open.
    case halfOpen = "half-open"

    /// Gauge value: closed 0, open 1, half-open 2.
    package var gaugeValue: Int {
        switch self {
        case .closed: 0
        case .open: 1
        case .halfOpen: 2
        }
    }
}

/// What the breaker says about sending one request now.
package enum BreakerAdmission: Sendable, Equatable {
    /// Closed: send.
    case allowed
    /// Half-open and no probe in flight: send as the probe, and report its outcome.
    case probe
    /// Open, or a probe is already in flight: do not send.
    case rejected
}

/// A circuit breaker: closed, open after `consecutiveFailures` in a row or an error rate over a
/// window, half-open after a cooldown that doubles with every failed probe (and resets on a
/// success), one probe in flight at a time. Times are monotonic nanoseconds passed in, so a
/// test drives it with a fake clock.
package struct CircuitBreaker: Sendable {
    /// Thresholds.
    package let settings: BreakerSettings
    /// Current state (an open breaker whose cooldown has ended still reads `open` until
    /// ``admit(now:)`` moves it to half-open).
    package private(set) var state: BreakerState = .closed
    /// Failures in a row.
    package private(set) var consecutiveFailures = 0
    /// When an open breaker may first be probed.
    package private(set) var openUntilNs: UInt64 = 0
    /// Cooldown the next opening will use, in nanoseconds.
    package private(set) var cooldownNs: UInt64
    /// Times the breaker has opened.
    package private(set) var openings = 0
    private var probeInFlight = false
    private var outcomes: [Bool]  // ring; true = failure
    private var outcomeNext = 0
    private var outcomeCount = 0
    private var failuresInWindow = 0

    /// A closed breaker.
    package init(settings: BreakerSettings) {
        self.settings = settings
        cooldownNs = UInt64(settings.cooldownMs) * 1_000_000
        outcomes = Array(repeating: false, count: settings.window)
    }

    /// Whether a request could be sent now, without changing anything (for ranking and `pick`).
    package func wouldAdmit(now: UInt64) -> Bool {
        switch state {
        case .closed: true
        case .open: now >= openUntilNs
        case .halfOpen: !probeInFlight
        }
    }

    /// Asks to send one request now; `.probe` reserves the single half-open probe.
    package mutating func admit(now: UInt64) -> BreakerAdmission {
        switch state {
        case .closed:
            return .allowed
        case .open:
            guard now >= openUntilNs else { return .rejected }
            state = .halfOpen
            probeInFlight = true
            return .probe
        case .halfOpen:
            if probeInFlight { return .rejected }
            probeInFlight = true
            return .probe
        }
    }

    /// The outcome of a request `admit` let through.
    package mutating func record(success: Bool, now: UInt64) {
        if state == .halfOpen {
            probeInFlight = false
            if success {
                close()
            } else {
                cooldownNs = min(cooldownNs * 2, UInt64(settings.maxCooldownMs) * 1_000_000)
                open(now: now)
            }
            return
        }
        if state == .open { return }  // a request admitted before the breaker opened
        remember(failure: !success)
        if success {
            consecutiveFailures = 0
            return
        }
        consecutiveFailures += 1
        let rateTripped = outcomeCount >= settings.minRequests
            && Double(failuresInWindow) >= settings.errorRate * Double(outcomeCount)
        if consecutiveFailures >= settings.consecutiveFailures || rateTripped {
            open(now: now)
        }
    }

    /// A probe that was admitted but never sent (for example the request was cancelled first).
    package mutating func releaseProbe() {
        if state == .halfOpen { probeInFlight = false }
    }

    private mutating func open(now: UInt64) {
        state = .open
        openings += 1
        openUntilNs = now &+ cooldownNs
        consecutiveFailures = 0
        resetWindow()
    }

    private mutating func close() {
        state = .closed
        consecutiveFailures = 0
        cooldownNs = UInt64(settings.cooldownMs) * 1_000_000
        resetWindow()
    }

    private mutating func resetWindow() {
        outcomeNext = 0
        outcomeCount = 0
        failuresInWindow = 0
    }

    private mutating func remember(failure: Bool) {
        if outcomeCount == outcomes.count {
            if outcomes[outcomeNext] { failuresInWindow -= 1 }
        } else {
            outcomeCount += 1
        }
        outcomes[outcomeNext] = failure
        if failure { failuresInWindow += 1 }
        outcomeNext = (outcomeNext + 1) % outcomes.count
    }
}
