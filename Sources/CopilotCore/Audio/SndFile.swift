import CSndFile
import Foundation

/// File format written by ``AudioFileWriter``.
public enum AudioFileFormat: String, CaseIterable, Sendable {
    /// RIFF WAVE.
    case wav
    /// Free Lossless Audio Codec.
    case flac
    /// Ogg Vorbis (lossy).
    case ogg
    /// Opus in Ogg (lossy; 8, 12, 16, 24 or 48 kHz only).
    case opus
    /// MPEG-1/2 Layer III (lossy, through LAME).
    case mp3

    /// `true` for formats that store PCM as given (the ``AudioFileEncoding`` applies).
    public var isLossless: Bool { self == .wav || self == .flac }

    /// The format a path's extension names (`.wav`, `.flac`, any case), or `nil`.
    public init?(pathExtension path: String) {
        let ext = (path as NSString).pathExtension.lowercased()
        switch ext {
        case "wav", "wave": self = .wav
        case "flac": self = .flac
        case "ogg", "oga": self = .ogg
        case "opus": self = .opus
        case "mp3": self = .mp3
        default: return nil
        }
    }
}

/// Sample encoding inside a written file.
public enum AudioFileEncoding: String, CaseIterable, Sendable {
    /// Signed 16-bit integers (CD quality; what speech tools expect).
    case pcm16 = "s16"
    /// Signed 24-bit integers.
    case pcm24 = "s24"
    /// 32-bit IEEE floats (WAV only; FLAC stores integers).
    case float32 = "f32"
}

/// The one Swift wrapper of libsndfile: opens audio files by content (WAV, FLAC, OGG/Vorbis,
/// Opus and the rest Debian's libsndfile 1.2 reads), reads interleaved float frames, and
/// writes WAV/FLAC/OGG/Opus/MP3. Every libsndfile failure becomes an ``AudioError``.
///
/// MP3 is read by ``MPG123`` instead (``AudioFileDecoder`` chooses): libsndfile's own
/// libmpg123 handle prints to the process's stderr.
///
/// Not thread-safe: one thread uses one instance.
package final class SndFile: AudioFrameSource {
    private var handle: OpaquePointer?
    /// Frames per second in the file.
    package let sampleRate: Int
    /// Interleaved channels.
    package let channels: Int
    /// Frame count the header announces (`nil` when libsndfile cannot know it, e.g. a pipe).
    package let expectedFrames: Int?
    /// Path or name used in messages.
    package let inputName: String
    /// libsndfile's major format code (`SF_FORMAT_WAV`, `SF_FORMAT_FLAC`, ...).
    package let majorFormat: Int32
    /// Whether libsndfile took the input for MPEG audio (which ``MPG123`` must read instead).
    package var isMPEG: Bool { majorFormat == Int32(SF_FORMAT_MPEG) }
    private var framesRead = 0
    /// Keeps an in-memory file alive for virtual I/O.
    private var memory: MemoryFile?

    private init(handle: OpaquePointer, info: SF_INFO, name: String, memory: MemoryFile? = nil) {
        self.handle = handle
        self.sampleRate = Int(info.samplerate)
        self.channels = Int(info.channels)
        let knownLength = info.frames > 0 && info.frames < Int64(Int32.max) * 1024
        self.expectedFrames = knownLength ? Int(info.frames) : nil
        self.inputName = name
        self.majorFormat = info.format & Int32(SF_FORMAT_TYPEMASK)
        self.memory = memory
    }

    deinit {
        if let handle { sf_close(handle) }
    }

    /// Opens `path` for reading; the format is detected from the content, not the extension.
    package static func open(path: String) throws -> SndFile {
        var info = SF_INFO()
        guard let handle = sf_open(path, Int32(SFM_READ), &info) else {
            throw AudioError.undecodable(input: path, reason: Self.lastError(nil))
        }
        return try checked(SndFile(handle: handle, info: info, name: path))
    }

    /// Opens an encoded file held in memory (e.g. a WAV or FLAC piped to stdin).
    package static func open(bytes: [UInt8], name: String) throws -> SndFile {
        let memory = MemoryFile(bytes: bytes)
        var io = SF_VIRTUAL_IO(
            get_filelen: { user in sf_count_t(MemoryFile.from(user).length) },
            seek: { offset, whence, user in sf_count_t(MemoryFile.from(user).seek(Int(offset), whence: whence)) },
            read: { ptr, count, user in sf_count_t(MemoryFile.from(user).read(into: ptr, count: Int(count))) },
            write: { _, _, _ in 0 },
            tell: { user in sf_count_t(MemoryFile.from(user).position) })
        var info = SF_INFO()
        let user = Unmanaged.passUnretained(memory).toOpaque()
        guard let handle = sf_open_virtual(&io, Int32(SFM_READ), &info, user) else {
            throw AudioError.undecodable(input: name, reason: Self.lastError(nil))
        }
        return try checked(SndFile(handle: handle, info: info, name: name, memory: memory))
    }

    private static func checked(_ file: SndFile) throws -> SndFile {
        if let (announced, present) = file.truncatedDataChunk() {
            throw AudioError.corrupt(
                input: file.inputName,
                reason: "its header announces \(announced) bytes of audio but the file holds \(present)")
        }
        guard file.sampleRate > 0, file.sampleRate <= AudioError.maximumSampleRate else {
            throw AudioError.invalidSampleRate(input: file.inputName, rate: file.sampleRate)
        }
        guard file.channels > 0, file.channels <= 1024 else {
            throw AudioError.invalidChannelCount(input: file.inputName, channels: file.channels)
        }
        return file
    }

    /// Creates `path` for writing (truncating it), with float input clipped rather than wrapped.
    package static func create(
        path: String, format: AudioFileFormat, encoding: AudioFileEncoding, sampleRate: Int, channels: Int
    ) throws -> SndFile {
        let major: Int32
        var minor: Int32
        switch encoding {
        case .pcm16: minor = Int32(SF_FORMAT_PCM_16)
        case .pcm24: minor = Int32(SF_FORMAT_PCM_24)
        case .float32: minor = Int32(SF_FORMAT_FLOAT)
        }
        switch format {
        case .wav: major = Int32(SF_FORMAT_WAV)
        case .flac:
            major = Int32(SF_FORMAT_FLAC)
            guard encoding != .float32 else {
                throw AudioError.writeFailed(path: path, reason: "FLAC stores integers only; use s16 or s24")
            }
        case .ogg: (major, minor) = (Int32(SF_FORMAT_OGG), Int32(SF_FORMAT_VORBIS))
        case .opus: (major, minor) = (Int32(SF_FORMAT_OGG), Int32(SF_FORMAT_OPUS))
        case .mp3: (major, minor) = (Int32(SF_FORMAT_MPEG), Int32(SF_FORMAT_MPEG_LAYER_III))
        }
        var info = SF_INFO()
        info.samplerate = Int32(clamping: sampleRate)
        info.channels = Int32(clamping: channels)
        info.format = major | minor
        guard sf_format_check(&info) != 0 else {
            throw AudioError.writeFailed(path: path, reason: "\(sampleRate) Hz, \(channels) channels is not valid for \(format.rawValue)")
        }
        guard let handle = sf_open(path, Int32(SFM_WRITE), &info) else {
            throw AudioError.writeFailed(path: path, reason: Self.lastError(nil))
        }
        sf_command(handle, Int32(SFC_SET_CLIPPING), nil, Int32(SF_TRUE))
        return SndFile(handle: handle, info: info, name: path)
    }

    /// Reads up to `buffer.count / channels` frames as floats (integer formats scaled to
    /// [-1, 1)). Returns 0 at the end. A file that ends before the frame count its header
    /// promised, or that libsndfile flags as broken, throws ``AudioError/corrupt(input:reason:)``.
    package func readFrames(into buffer: UnsafeMutableBufferPointer<Float>) throws -> Int {
        guard let handle, let base = buffer.baseAddress else { return 0 }
        let want = buffer.count / channels
        guard want > 0 else { return 0 }
        let got = Int(sf_readf_float(handle, base, sf_count_t(want)))
        framesRead += got
        if got < want {
            let code = sf_error(handle)
            if code != 0 {
                throw AudioError.corrupt(input: inputName, reason: Self.lastError(handle))
            }
            if got == 0, let expected = expectedFrames, framesRead < expected {
                throw AudioError.corrupt(
                    input: inputName, reason: "decoded \(framesRead) of the \(expected) frames the header announces")
            }
        }
        return got
    }

    /// Writes interleaved frames (`samples.count` must be a multiple of `channels`).
    package func write(interleaved samples: UnsafeBufferPointer<Float>) throws {
        guard let handle, let base = samples.baseAddress, samples.count > 0 else { return }
        let frames = samples.count / channels
        let written = Int(sf_writef_float(handle, base, sf_count_t(frames)))
        if written != frames {
            throw AudioError.writeFailed(path: inputName, reason: Self.lastError(handle))
        }
    }

    /// Flushes and closes; later reads return 0 and writes do nothing.
    package func close() throws {
        guard let handle else { return }
        self.handle = nil
        let code = sf_close(handle)
        if code != 0 {
            throw AudioError.writeFailed(path: inputName, reason: String(cString: sf_error_number(code)))
        }
    }

    /// libsndfile's log for the open file: header warnings such as a data chunk longer than
    /// the file.
    package var log: String {
        guard let handle else { return "" }
        var buffer = [CChar](repeating: 0, count: 4096)
        sf_command(handle, Int32(SFC_GET_LOG_INFO), &buffer, Int32(buffer.count))
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// For WAV/AIFF, the data chunk size the header announces and the bytes actually present,
    /// when the file is shorter than announced. libsndfile decodes such a file silently (it
    /// notes "data : N (should be M)" in its log), but it lost its end, so copilot refuses it.
    /// Sizes of 0 and near 2^31/2^32 mean "length unknown" (a WAV streamed by `arecord` or
    /// `ffmpeg` into a pipe) and are accepted.
    private func truncatedDataChunk() -> (announced: Int, present: Int)? {
        for line in log.split(separator: "\n") {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard trimmed.hasPrefix("data :") || trimmed.hasPrefix("SSND :"),
                  let open = trimmed.range(of: "(should be ") else { continue }
            let announcedText = trimmed[trimmed.index(trimmed.startIndex, offsetBy: 6)..<open.lowerBound]
                .trimmingCharacters(in: .whitespaces)
            let presentText = trimmed[open.upperBound...].prefix { $0.isNumber }
            guard let announced = Int(announcedText), let present = Int(presentText) else { continue }
            let unknownLength = announced == 0 || announced >= 0x7FFF_0000
            if !unknownLength && present < announced { return (announced, present) }
        }
        return nil
    }

    private static func lastError(_ handle: OpaquePointer?) -> String {
        var text = String(cString: sf_strerror(handle))
        // libsndfile's messages end with a period and sometimes a newline; our line adds its own.
        while let last = text.last, last == "." || last == "\n" || last == " " { text.removeLast() }
        if text.hasPrefix("Error : ") { text.removeFirst(8) }
        return text.replacingOccurrences(of: "\n", with: " ")
    }
}
