import Foundation

/// Picks the decoder for an encoded input by its content: libmpg123 (``MPG123``) for MPEG
/// audio, libsndfile (``SndFile``) for everything else (WAV, FLAC, OGG/Vorbis, Opus, AIFF...).
///
/// MPEG audio starts with an MPEG frame header, possibly after an ID3v2 tag. libsndfile would
/// decode it through its own libmpg123 handle, which prints to the process's stderr, so it
/// never reaches libsndfile; should libsndfile still take a file for MPEG, the file is
/// reopened with libmpg123 before any audio is read.
package enum AudioFileDecoder {
    /// Opens the file at `path` for decoding.
    package static func open(path: String) throws -> AudioFrameSource {
        guard FileManager.default.fileExists(atPath: path) else {
            throw AudioError.unreadable(input: path, reason: "no such file")
        }
        guard access(path, R_OK) == 0 else {
            throw AudioError.unreadable(input: path, reason: "permission denied")
        }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw AudioError.unreadable(input: path, reason: "it is a directory")
        }
        if startsWithMPEGAudio(bytes(of: path, at: id3TagBytes(bytes(of: path, at: 0, count: 10)), count: 4)) {
            return try MPG123.open(path: path)
        }
        let file = try SndFile.open(path: path)
        guard file.isMPEG else { return file }
        try file.close()
        return try MPG123.open(path: path)
    }

    /// Opens an encoded input held in memory (an input piped to stdin).
    package static func open(bytes: [UInt8], name: String) throws -> AudioFrameSource {
        if startsWithMPEGAudio(Array(bytes.dropFirst(id3TagBytes(Array(bytes.prefix(10)))).prefix(4))) {
            return try MPG123.open(bytes: bytes, name: name)
        }
        let file = try SndFile.open(bytes: bytes, name: name)
        guard file.isMPEG else { return file }
        try file.close()
        return try MPG123.open(bytes: bytes, name: name)
    }

    /// Whether `bytes` begin with a valid MPEG audio frame header.
    static func startsWithMPEGAudio(_ bytes: [UInt8]) -> Bool { MPEGAudioFrameHeader(bytes) != nil }

    /// The length of the ID3v2 tag `head` (an input's first 10 bytes) starts, header and
    /// footer included; 0 when it starts with none.
    package static func id3TagBytes(_ head: [UInt8]) -> Int {
        guard head.count >= 10, head.starts(with: Array("ID3".utf8)), head[6..<10].allSatisfy({ $0 < 0x80 }) else { return 0 }
        let size = head[6..<10].reduce(0) { $0 << 7 | Int($1) }
        return 10 + size + (head[5] & 0x10 != 0 ? 10 : 0)
    }

    /// Up to `count` bytes of the file at `offset` (fewer at its end, none when unreadable:
    /// the decoder that opens it next reports why).
    private static func bytes(of path: String, at offset: Int, count: Int) -> [UInt8] {
        guard let handle = FileHandle(forReadingAtPath: path) else { return [] }
        defer { try? handle.close() }
        guard (try? handle.seek(toOffset: UInt64(offset))) != nil else { return [] }
        return [UInt8]((try? handle.read(upToCount: count)) ?? Data())
    }
}
