/// The 4-byte header that starts every MPEG-1, MPEG-2 or MPEG-2.5 audio frame (Layer I, II or
/// III): 11 sync bits, then version, layer, bitrate, sample rate, padding and channel mode.
///
/// An MP3 without an ID3 tag has no magic of its own, so stdin is recognised as MPEG audio by
/// a valid header whose frame is followed by a second valid header of the same stream
/// (``startsStream(_:)``); raw PCM passes both checks only by rare chance.
package struct MPEGAudioFrameHeader: Sendable, Equatable {
    /// MPEG version: 1, 2, or 25 for the unofficial MPEG 2.5.
    package var version: Int
    /// Layer 1, 2 or 3.
    package var layer: Int
    /// Bitrate, in bits per second.
    package var bitrate: Int
    /// Sample rate, in Hz.
    package var sampleRate: Int
    /// Whether the frame carries one padding slot.
    package var isPadded: Bool
    /// 1 for mono, 2 otherwise.
    package var channels: Int

    /// Header bytes needed before ``frameBytes`` is known.
    package static let size = 4

    /// Parses the header at the start of `bytes`; nil unless the sync bits are set and every
    /// field has a defined value (free-format bitrates, whose frame length is not in the
    /// header, are refused too).
    package init?(_ bytes: some Collection<UInt8>) {
        guard bytes.count >= Self.size else { return nil }
        let b = Array(bytes.prefix(Self.size))
        guard b[0] == 0xFF, b[1] & 0xE0 == 0xE0 else { return nil }
        let versionBits = Int(b[1] >> 3) & 3
        let layerBits = Int(b[1] >> 1) & 3
        let bitrateIndex = Int(b[2] >> 4)
        let rateIndex = Int(b[2] >> 2) & 3
        guard versionBits != 1, layerBits != 0, bitrateIndex != 0, bitrateIndex != 15, rateIndex != 3, b[3] & 3 != 2 else {
            return nil
        }
        version = [25, 0, 2, 1][versionBits]
        layer = 4 - layerBits
        let table: [Int]
        switch (version == 1, layer) {
        case (true, 1): table = [32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448]
        case (true, 2): table = [32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384]
        case (true, _): table = [32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320]
        case (false, 1): table = [32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256]
        case (false, _): table = [8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160]
        }
        bitrate = table[bitrateIndex - 1] * 1000
        let rates = [44_100, 48_000, 32_000]
        sampleRate = rates[rateIndex] / (version == 1 ? 1 : version == 2 ? 2 : 4)
        isPadded = b[2] & 2 != 0
        channels = b[3] >> 6 == 3 ? 1 : 2
    }

    /// Bytes in the frame, header included.
    package var frameBytes: Int {
        let padding = isPadded ? 1 : 0
        switch layer {
        case 1: return (12 * bitrate / sampleRate + padding) * 4
        case 2: return 144 * bitrate / sampleRate + padding
        default: return (version == 1 ? 144 : 72) * bitrate / sampleRate + padding
        }
    }

    /// Whether `bytes`, the start of an input, is MPEG audio: a valid header, and a second one
    /// of the same version, layer and sample rate right after the first frame. An input that
    /// ends within 4 bytes after its first frame (a single frame) needs no second header; one
    /// that ends inside its first frame is not taken for MPEG audio. `bytes` must hold the
    /// input's first `frameBytes + 4` bytes, or all of it when shorter.
    package static func startsStream(_ bytes: [UInt8]) -> Bool {
        guard let first = MPEGAudioFrameHeader(bytes) else { return false }
        let next = first.frameBytes
        guard bytes.count >= next + size else { return bytes.count >= next }
        guard let second = MPEGAudioFrameHeader(bytes[next...]) else { return false }
        return second.version == first.version && second.layer == first.layer && second.sampleRate == first.sampleRate
    }

    /// How many of an input's first bytes ``startsStream(_:)`` needs, given the first few:
    /// the first frame and the next header when `head` starts with a header, else `head.count`.
    package static func bytesNeeded(toRecognise head: [UInt8]) -> Int {
        MPEGAudioFrameHeader(head).map { $0.frameBytes + size } ?? head.count
    }
}
