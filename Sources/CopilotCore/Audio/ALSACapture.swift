import CALSA
import Foundation

/// The one Swift wrapper of ALSA: live capture from a PCM device (`default`, `hw:0,0`,
/// `plughw:1`, `null`, ...).
///
/// A dedicated thread calls `snd_pcm_readi` one period at a time and appends the frames to a
/// bounded, lock-protected queue; ``readFrames(into:)`` takes them out on the consumer's
/// thread. When the queue is full the capture thread waits (the device's own buffer then
/// absorbs the delay; an overrun there is recovered and counted in ``overruns``), so no frame
/// that reached copilot is dropped. ``stop()`` ends the capture after the current period;
/// the frames already queued are still delivered.
package final class ALSACapture: AudioFrameSource, @unchecked Sendable {
    /// Rate the device agreed to, in Hz (may differ from the one asked).
    package let sampleRate: Int
    /// Channels the device agreed to.
    package let channels: Int
    /// `ALSA device NAME`.
    package let inputName: String
    /// Always `true`: a capture may end with nothing when stopped at once.
    package var isLive: Bool { true }
    /// Frames per `snd_pcm_readi` call.
    package let periodFrames: Int
    /// Sample encoding the device agreed to deliver.
    package let sampleFormat: RawSampleFormat

    private let device: String
    private let maximumFrames: Int?
    private let condition = NSCondition()
    // Guarded by `condition`:
    private var ring: [Float]
    private var ringStart = 0
    private var ringCount = 0
    private var stopRequested = false
    private var finished = false
    private var failure: AudioError?
    private var overrunCount = 0

    /// Opens `device` and starts capturing on a new thread.
    ///
    /// - Parameters:
    ///   - sampleRate: rate to ask for, in Hz; the device may pick the nearest it supports.
    ///   - channels: channels to ask for.
    ///   - periodMs: length of one read, in milliseconds.
    ///   - queueMs: audio the queue holds before the capture thread waits, in milliseconds.
    ///   - maximumSeconds: stop after this much audio (`--duration`, counted in frames at the
    ///     rate the device agreed to), or `nil` to run until ``stop()``.
    package init(device: String, sampleRate: Int, channels: Int, periodMs: Int, queueMs: Int = 10_000,
                 maximumSeconds: Double? = nil) throws {
        let name = "ALSA device \(device)"
        try RawPCMLayout(format: .s16le, sampleRate: sampleRate, channels: channels).validate(input: name)
        copilot_alsa_silence_errors()
        var handle: OpaquePointer?
        var rc = snd_pcm_open(&handle, device, SND_PCM_STREAM_CAPTURE, 0)
        guard rc >= 0, let pcm = handle else {
            throw AudioError.deviceUnavailable(device: device, reason: Self.message(rc))
        }
        var params: OpaquePointer?
        rc = snd_pcm_hw_params_malloc(&params)
        guard rc >= 0, let hw = params else {
            snd_pcm_close(pcm)
            throw AudioError.captureFailed(device: device, reason: Self.message(rc))
        }
        defer { snd_pcm_hw_params_free(hw) }

        var agreedFormat = RawSampleFormat.f32le
        var rate = UInt32(sampleRate)
        var agreedChannels = UInt32(channels)
        var period = snd_pcm_uframes_t(max(1, sampleRate * periodMs / 1000))
        func configure() -> (Int32, String) {
            var dir: Int32 = 0
            var rc = snd_pcm_hw_params_any(pcm, hw)
            if rc < 0 { return (rc, "no configuration available") }
            rc = snd_pcm_hw_params_set_access(pcm, hw, SND_PCM_ACCESS_RW_INTERLEAVED)
            if rc < 0 { return (rc, "interleaved access not supported") }
            // Floats first (no conversion), then the integer formats hardware offers most.
            let candidates: [(snd_pcm_format_t, RawSampleFormat)] = [
                (SND_PCM_FORMAT_FLOAT_LE, .f32le), (SND_PCM_FORMAT_S16_LE, .s16le), (SND_PCM_FORMAT_S32_LE, .s32le),
            ]
            guard let chosen = candidates.first(where: { snd_pcm_hw_params_set_format(pcm, hw, $0.0) >= 0 }) else {
                return (-EINVAL, "none of FLOAT_LE, S16_LE, S32_LE samples supported (try plughw:)")
            }
            agreedFormat = chosen.1
            rc = snd_pcm_hw_params_set_channels_near(pcm, hw, &agreedChannels)
            if rc < 0 { return (rc, "\(channels) channels not supported") }
            rc = snd_pcm_hw_params_set_rate_near(pcm, hw, &rate, &dir)
            if rc < 0 { return (rc, "\(sampleRate) Hz not supported") }
            rc = snd_pcm_hw_params_set_period_size_near(pcm, hw, &period, &dir)
            if rc < 0 { return (rc, "period of \(periodMs) ms not supported") }
            var bufferFrames = period * 8
            rc = snd_pcm_hw_params_set_buffer_size_near(pcm, hw, &bufferFrames)
            if rc < 0 { return (rc, "buffer of \(period * 8) frames not supported") }
            rc = snd_pcm_hw_params(pcm, hw)
            if rc < 0 { return (rc, "parameters refused") }
            return (0, "")
        }
        let (code, what) = configure()
        if code < 0 {
            snd_pcm_close(pcm)
            throw AudioError.captureFailed(device: device, reason: "\(what): \(Self.message(code))")
        }
        guard rate > 0, agreedChannels > 0, period > 0 else {
            snd_pcm_close(pcm)
            throw AudioError.captureFailed(device: device, reason: "the device agreed to no usable rate or channel count")
        }
        self.device = device
        self.inputName = name
        self.sampleRate = Int(rate)
        self.channels = Int(agreedChannels)
        self.periodFrames = Int(period)
        self.sampleFormat = agreedFormat
        self.maximumFrames = maximumSeconds.map { max(0, Int(($0 * Double(rate)).rounded())) }
        let queueFrames = max(Int(period) * 4, Int(rate) * max(queueMs, 1) / 1000)
        self.ring = [Float](repeating: 0, count: queueFrames * Int(agreedChannels))
        let pcmBox = PCMHandle(pcm)
        let thread = Thread { [self] in self.captureLoop(pcmBox.pcm) }
        thread.name = "copilot-alsa-capture"
        thread.start()
    }

    /// Overruns the device reported (audio lost before copilot could read it), recovered.
    package var overruns: Int {
        condition.lock()
        defer { condition.unlock() }
        return overrunCount
    }

    /// Takes the queued frames (waiting for the first period if none yet); 0 once the capture
    /// ended and the queue is empty; throws the capture thread's error, if any, at that point.
    package func readFrames(into buffer: UnsafeMutableBufferPointer<Float>) throws -> Int {
        let wantFrames = buffer.count / channels
        guard wantFrames > 0, let out = buffer.baseAddress else { return 0 }
        condition.lock()
        defer { condition.unlock() }
        while ringCount == 0 && !finished { condition.wait() }
        if ringCount == 0 {
            if let failure { throw failure }
            return 0
        }
        let frames = min(wantFrames, ringCount / channels)
        let samples = frames * channels
        ring.withUnsafeBufferPointer { r in
            guard let base = r.baseAddress else { return }
            let first = min(samples, r.count - ringStart)
            out.update(from: base + ringStart, count: first)
            if first < samples { (out + first).update(from: base, count: samples - first) }
        }
        ringStart = (ringStart + samples) % ring.count
        ringCount -= samples
        condition.broadcast()
        return frames
    }

    /// Asks the capture thread to end after the current period; safe from any thread.
    package func stop() {
        condition.lock()
        stopRequested = true
        condition.broadcast()
        condition.unlock()
    }

    private func captureLoop(_ pcm: OpaquePointer) {
        let samplesPerPeriod = periodFrames * channels
        var floats = [Float](repeating: 0, count: samplesPerPeriod)
        var bytes = [UInt8](repeating: 0, count: samplesPerPeriod * sampleFormat.bytesPerSample)
        var produced = 0
        var failed: AudioError?
        capture: while true {
            condition.lock()
            let stopping = stopRequested
            condition.unlock()
            if stopping { break }
            var want = periodFrames
            if let maximumFrames {
                want = min(want, maximumFrames - produced)
                if want <= 0 { break }
            }
            let n = bytes.withUnsafeMutableBytes { snd_pcm_readi(pcm, $0.baseAddress, snd_pcm_uframes_t(want)) }
            if n < 0 {
                if n == -Int(EAGAIN) || n == -Int(EINTR) { continue }
                let recovered = snd_pcm_recover(pcm, Int32(n), 1)
                if recovered < 0 {
                    failed = .captureFailed(device: device, reason: Self.message(Int32(n)))
                    break capture
                }
                if n == -Int(EPIPE) {
                    condition.lock()
                    overrunCount += 1
                    condition.unlock()
                }
                continue
            }
            if n == 0 { continue }
            floats.withUnsafeMutableBufferPointer { out in
                bytes.withUnsafeBytes { RawPCMReader.convert($0, format: sampleFormat, count: n * channels, into: out) }
            }
            push(floats, count: n * channels)
            produced += n
        }
        snd_pcm_close(pcm)
        condition.lock()
        failure = failed
        finished = true
        condition.broadcast()
        condition.unlock()
    }

    /// Appends `count` samples, waiting while the queue is full (unless stopping).
    private func push(_ samples: [Float], count: Int) {
        condition.lock()
        defer { condition.unlock() }
        var offset = 0
        while offset < count {
            while ringCount == ring.count && !stopRequested { condition.wait() }
            if ringCount == ring.count { return }
            let free = ring.count - ringCount
            let n = min(free, count - offset)
            let end = (ringStart + ringCount) % ring.count
            for i in 0..<n { ring[(end + i) % ring.count] = samples[offset + i] }
            ringCount += n
            offset += n
            condition.broadcast()
        }
    }

    private static func message(_ code: Int32) -> String {
        String(cString: snd_strerror(code))
    }
}

/// Carries the PCM handle into the capture thread (only that thread uses it after start).
private final class PCMHandle: @unchecked Sendable {
    let pcm: OpaquePointer
    init(_ pcm: OpaquePointer) { self.pcm = pcm }
}
