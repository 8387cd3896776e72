import CMPG123
import Foundation

/// The one Swift wrapper of libmpg123: decodes MPEG-1/2/2.5 audio (Layer I, II and III, i.e.
/// MP3 and MP2) from a file or from memory into interleaved float frames.
///
/// Set up as libsndfile 1.2 sets up its own libmpg123 handle, so the samples are the same as
/// when copilot read MP3 through libsndfile: 32-bit float output at the stream's own rate and
/// channel count (no resampling inside libmpg123), gapless (encoder delay and padding from a
/// LAME/Xing header removed), no Frankenstein streams. Unlike libsndfile's handle, this one
/// has `MPG123_QUIET` set, so libmpg123 never writes its resync notes to the process's
/// stderr; every failure becomes an ``AudioError`` naming the input.
///
/// Not thread-safe: one thread uses one instance.
package final class MPG123: AudioFrameSource {
    private var handle: OpaquePointer?
    /// Keeps an in-memory input alive for libmpg123's reader callbacks.
    private var memory: MemoryFile?
    /// Frames per second of the stream.
    package let sampleRate: Int
    /// Interleaved channels (1 or 2).
    package let channels: Int
    /// Frame count libmpg123 expects (from a Xing/Info header, else estimated from the
    /// bitrate or counted by a scan), `nil` when unknown. An estimate, not a promise.
    package let expectedFrames: Int?
    /// Path or name used in messages.
    package let inputName: String

    /// Opens and starts decoding the MPEG audio file at `path`.
    package static func open(path: String) throws -> MPG123 {
        try MPG123(name: path) { handle in mpg123_open(handle, path) }
    }

    /// Opens MPEG audio held in memory (e.g. an MP3 piped to stdin), read through seekable
    /// callbacks as libsndfile's virtual I/O read it.
    package static func open(bytes: [UInt8], name: String) throws -> MPG123 {
        let memory = MemoryFile(bytes: bytes)
        return try MPG123(name: name, memory: memory) { handle in
            let status = mpg123_replace_reader_handle(
                handle,
                { user, buffer, count in MemoryFile.from(user).read(into: buffer, count: count) },
                { user, offset, whence in MemoryFile.from(user).seek(offset, whence: whence) },
                nil)
            guard status == MPG123_OK.rawValue else { return status }
            return mpg123_open_handle(handle, Unmanaged.passUnretained(memory).toOpaque())
        }
    }

    private init(name: String, memory: MemoryFile? = nil, open: (OpaquePointer) -> Int32) throws {
        inputName = name
        self.memory = memory
        _ = Self.initialized
        var code: Int32 = 0
        guard let handle = mpg123_new(nil, &code) else {
            throw AudioError.undecodable(input: name, reason: Self.message(code))
        }
        // deinit does not run for an init that throws: the handle (and the file it opened)
        // is released here.
        do {
            (sampleRate, channels, expectedFrames) = try Self.start(handle, name: name, open: open)
        } catch {
            mpg123_delete(handle)
            throw error
        }
        self.handle = handle
    }

    /// Sets `handle`'s flags, opens the input and reads its format: the rate, the channel count
    /// and the frame count (nil when unknown).
    private static func start(_ handle: OpaquePointer, name: String, open: (OpaquePointer) -> Int32) throws -> (Int, Int, Int?) {
        func check(_ status: Int32) throws {
            guard status != MPG123_OK.rawValue else { return }
            throw AudioError.undecodable(input: name, reason: message(status, handle))
        }
        // Flags first: QUIET before anything can print, then libsndfile's own choices.
        let flags: [(mpg123_parms, mpg123_param_flags)] = [
            (MPG123_ADD_FLAGS, MPG123_QUIET),
            (MPG123_REMOVE_FLAGS, MPG123_AUTO_RESAMPLE),
            (MPG123_ADD_FLAGS, mpg123_param_flags(MPG123_FORCE_FLOAT.rawValue | MPG123_GAPLESS.rawValue | MPG123_NO_FRANKENSTEIN.rawValue)),
        ]
        for (parameter, flag) in flags {
            try check(mpg123_param2(handle, Int32(parameter.rawValue), Int(flag.rawValue), 0))
        }
        try check(open(handle))
        var rate = 0
        var channels: Int32 = 0
        var encoding: Int32 = 0
        try check(mpg123_getformat(handle, &rate, &channels, &encoding))
        var length = mpg123_length(handle)
        if length <= 0 {
            try check(mpg123_scan(handle))
            length = mpg123_length(handle)
        }
        if encoding != MPG123_ENC_FLOAT_32.rawValue {
            try check(mpg123_format(handle, rate, channels, Int32(MPG123_ENC_FLOAT_32.rawValue)))
        }
        guard rate > 0, rate <= AudioError.maximumSampleRate else {
            throw AudioError.invalidSampleRate(input: name, rate: rate)
        }
        guard channels > 0 else { throw AudioError.invalidChannelCount(input: name, channels: Int(channels)) }
        return (rate, Int(channels), length > 0 ? length : nil)
    }

    deinit {
        guard let handle else { return }
        mpg123_close(handle)
        mpg123_delete(handle)
    }

    /// Decodes up to `buffer.count / channels` frames; 0 at the end of the stream. Damaged
    /// frames are skipped as libmpg123 resynchronises (silently); a stream that changes its
    /// rate or channel count, or a decoder error, throws ``AudioError/corrupt(input:reason:)``.
    package func readFrames(into buffer: UnsafeMutableBufferPointer<Float>) throws -> Int {
        guard let handle, let base = buffer.baseAddress else { return 0 }
        let want = buffer.count / channels
        guard want > 0 else { return 0 }
        var done = 0
        let status = mpg123_read(handle, base, want * channels * MemoryLayout<Float>.size, &done)
        switch status {
        case MPG123_OK.rawValue, MPG123_DONE.rawValue:
            return done / (channels * MemoryLayout<Float>.size)
        case MPG123_NEW_FORMAT.rawValue:
            throw AudioError.corrupt(input: inputName, reason: "the MPEG stream changes its sample rate or channel count part-way")
        default:
            throw AudioError.corrupt(input: inputName, reason: Self.message(status, handle))
        }
    }

    /// libmpg123 needs one global set-up (a no-op in current versions, still required by the API).
    private static let initialized: Int32 = mpg123_init()

    /// libmpg123's text for `status`: the handle's own error for the generic MPG123_ERR; the
    /// end of the stream before any audio (MPG123_DONE at open) said plainly.
    private static func message(_ status: Int32, _ handle: OpaquePointer? = nil) -> String {
        if status == MPG123_DONE.rawValue { return "no complete MPEG audio frame" }
        let text = status == MPG123_ERR.rawValue && handle != nil
            ? String(cString: mpg123_strerror(handle)) : String(cString: mpg123_plain_strerror(status))
        return text.trimmingCharacters(in: CharacterSet(charactersIn: ". \n"))
    }
}
