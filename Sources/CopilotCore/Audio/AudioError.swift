import Foundation

/// Errors of the audio area: opening, decoding, capturing, converting and writing audio.
///
/// Every message names the input (a path, `stdin` or an ALSA device) and says what to do, on
/// one line.
public enum AudioError: Error, LocalizedError, Equatable {
    /// The input file does not exist or cannot be opened for reading.
    case unreadable(input: String, reason: String)
    /// Neither libsndfile nor libmpg123 can decode the content (not audio, or an unsupported codec).
    case undecodable(input: String, reason: String)
    /// The file decodes partly, then breaks off (truncated or corrupt data).
    case corrupt(input: String, reason: String)
    /// Stdin carried no bytes at all.
    case emptyStandardInput
    /// Stdin is a terminal, so no audio is coming (waiting would look like a hang).
    case standardInputIsTerminal
    /// A file or device gave no audio samples.
    case noSamples(input: String)
    /// Raw input ended inside a frame: the byte count is not a multiple of the frame size.
    case partialFrame(input: String, byteCount: Int, frameBytes: Int)
    /// A sample rate outside 1...384000 Hz.
    case invalidSampleRate(input: String, rate: Int)
    /// A consumer asked for an output rate outside 1...384000 Hz.
    case invalidTargetRate(rate: Int)
    /// A channel count outside 1...64.
    case invalidChannelCount(input: String, channels: Int)
    /// Reading the input failed at the operating-system level.
    case readFailed(input: String, reason: String)
    /// The ALSA device could not be opened (no sound card, wrong name, busy).
    case deviceUnavailable(device: String, reason: String)
    /// The ALSA device refused the requested parameters or failed while capturing.
    case captureFailed(device: String, reason: String)
    /// libsamplerate refused the conversion.
    case resampleFailed(reason: String)
    /// An output file cannot be created or written.
    case writeFailed(path: String, reason: String)

    /// Highest sample rate accepted anywhere (the top of professional audio interfaces).
    public static let maximumSampleRate = 384_000
    /// Highest channel count accepted for raw input and capture.
    package static let maximumChannels = 64

    public var errorDescription: String? {
        switch self {
        case .unreadable(let input, let reason):
            "cannot open \(input): \(reason); check the path and its permissions"
        case .undecodable(let input, let reason):
            "cannot decode \(input): \(reason); give a WAV, FLAC, OGG/Vorbis, Opus or MP3 file, or raw PCM with --raw"
        case .corrupt(let input, let reason):
            "\(input) is truncated or corrupt: \(reason); re-export or re-download the file"
        case .emptyStandardInput:
            "no audio on stdin; pipe raw s16le 16 kHz mono or give a file"
        case .standardInputIsTerminal:
            "stdin is a terminal, not audio; pipe raw s16le 16 kHz mono, give a file, or capture with --device"
        case .noSamples(let input):
            "\(input) holds no audio samples; give a file or device with audio"
        case .partialFrame(let input, let byteCount, let frameBytes):
            "\(input) ends inside a sample: \(byteCount) bytes is not a multiple of the \(frameBytes)-byte frame; check --raw and --channels"
        case .invalidSampleRate(let input, let rate):
            "sample rate \(rate) Hz for \(input) is out of range; give --rate between 1 and \(Self.maximumSampleRate)"
        case .invalidTargetRate(let rate):
            "output sample rate \(rate) Hz is out of range; ask for 1 to \(Self.maximumSampleRate) Hz"
        case .invalidChannelCount(let input, let channels):
            "\(channels) channels for \(input) is out of range; give --channels between 1 and \(Self.maximumChannels)"
        case .readFailed(let input, let reason):
            "cannot read \(input): \(reason)"
        case .deviceUnavailable(let device, let reason):
            "cannot open ALSA capture device \(device): \(reason); list devices with `arecord -L` (the `null` device captures silence)"
        case .captureFailed(let device, let reason):
            "capture from ALSA device \(device) failed: \(reason); try another --rate/--channels or device"
        case .resampleFailed(let reason):
            "resampling failed: \(reason)"
        case .writeFailed(let path, let reason):
            "cannot write \(path): \(reason); check the directory exists, free space and permissions"
        }
    }
}
