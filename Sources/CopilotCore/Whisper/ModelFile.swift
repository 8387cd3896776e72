#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// A CTranslate2 `model.bin` (binary version 6), memory-mapped and indexed.
///
/// Parsing reads only the header of each variable (name, shape, type, byte count) and checks
/// every size against the file; tensor data stays in the mapping until ``floats(_:shape:)``
/// converts it to float32 (float16, bfloat16, float32, or int8/int16 with a `_scale` tensor).
/// All integers are little-endian and nothing is aligned.
package final class ModelFile {
    /// Element type of a stored variable (CTranslate2's codes 0...5).
    package enum DataType: UInt8, Sendable, CustomStringConvertible {
        case float32 = 0, int8, int16, int32, float16, bfloat16

        /// Bytes per element.
        package var size: Int {
            switch self {
            case .int8: 1
            case .int16, .float16, .bfloat16: 2
            case .float32, .int32: 4
            }
        }

        /// The type's name (`float32`, `int8`, ...).
        package var description: String {
            switch self {
            case .float32: "float32"
            case .int8: "int8"
            case .int16: "int16"
            case .int32: "int32"
            case .float16: "float16"
            case .bfloat16: "bfloat16"
            }
        }
    }

    /// One stored variable: where its bytes are in the file and what they mean.
    package struct Variable: Sendable, Equatable {
        /// Full name, e.g. `encoder/layer_0/ffn/linear_0/weight`.
        package var name: String
        /// Dimensions, outermost first; empty for a scalar.
        package var shape: [Int]
        /// Element type.
        package var dataType: DataType
        /// Byte offset of the data in the file.
        package var offset: Int
        /// Number of data bytes (product of `shape` times the element size).
        package var byteCount: Int

        /// Number of elements.
        package var count: Int { shape.reduce(1, *) }
    }

    /// The file's path, named in every error.
    package let path: String
    /// CTranslate2 binary version (6).
    package let binaryVersion: Int
    /// Model specification name, `WhisperSpec` for Whisper.
    package let specName: String
    /// Specification revision.
    package let specRevision: Int
    /// Variables by name.
    package let variables: [String: Variable]
    /// Alias name -> target variable name (e.g. the tied output projection).
    package let aliases: [String: String]

    private let base: UnsafeMutableRawPointer?
    private let length: Int

    /// Maps and parses `path`; throws ``WhisperModelError`` naming the file and the problem.
    package init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            throw WhisperModelError.unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            throw WhisperModelError.unreadable(path: path, reason: "not a regular file")
        }
        let length = Int(info.st_size)
        var base: UnsafeMutableRawPointer?
        if length > 0 {
            let mapped = mmap(nil, length, PROT_READ, MAP_PRIVATE, fd, 0)
            guard let mapped, mapped != MAP_FAILED else {
                throw WhisperModelError.unreadable(path: path, reason: "mmap failed: \(String(cString: strerror(errno)))")
            }
            base = mapped
        }
        self.base = base
        self.length = length
        do {
            let raw = UnsafeRawBufferPointer(start: base, count: length)
            var reader = Reader(bytes: raw, path: path)
            let version = Int(try reader.u32("the binary version"))
            guard version == 6 else { throw WhisperModelError.unsupportedVersion(path: path, version: version) }
            self.binaryVersion = version
            self.specName = try reader.string("the specification name")
            self.specRevision = Int(try reader.u32("the specification revision"))
            let count = Int(try reader.u32("the variable count"))
            var variables: [String: Variable] = [:]
            variables.reserveCapacity(min(count, 4096))
            for index in 0..<count {
                let what = "variable \(index) of \(count)"
                let name = try reader.string("the name of \(what)")
                let rank = Int(try reader.u8("the rank of \(name)"))
                var shape: [Int] = []
                for _ in 0..<rank { shape.append(Int(try reader.u32("the shape of \(name)"))) }
                let code = try reader.u8("the data type of \(name)")
                guard let dataType = DataType(rawValue: code) else {
                    throw WhisperModelError.unknownDataType(path: path, tensor: name, code: Int(code))
                }
                let byteCount = Int(try reader.u32("the byte count of \(name)"))
                let (elements, overflow) = shape.reduce((1, false)) { acc, d in
                    let (p, o) = acc.0.multipliedReportingOverflow(by: d)
                    return (p, acc.1 || o)
                }
                guard !overflow, elements.multipliedReportingOverflow(by: dataType.size).partialValue == byteCount,
                    !elements.multipliedReportingOverflow(by: dataType.size).overflow
                else {
                    throw WhisperModelError.sizeMismatch(
                        path: path, tensor: name, expectedBytes: overflow ? Int.max : elements &* dataType.size,
                        actualBytes: byteCount)
                }
                let offset = reader.offset
                try reader.skip(byteCount, "the data of \(name)")
                guard variables[name] == nil else {
                    throw WhisperModelError.corrupt(path: path, reason: "variable \(name) appears twice")
                }
                variables[name] = Variable(name: name, shape: shape, dataType: dataType, offset: offset, byteCount: byteCount)
            }
            var aliases: [String: String] = [:]
            if !reader.atEnd {
                let aliasCount = Int(try reader.u32("the alias count"))
                for _ in 0..<aliasCount {
                    let alias = try reader.string("an alias name")
                    let target = try reader.string("the target of alias \(alias)")
                    guard variables[target] != nil else {
                        throw WhisperModelError.corrupt(path: path, reason: "alias \(alias) points to missing variable \(target)")
                    }
                    aliases[alias] = target
                }
            }
            guard reader.atEnd else {
                throw WhisperModelError.corrupt(path: path, reason: "\(length - reader.offset) unexpected bytes after the last alias")
            }
            self.variables = variables
            self.aliases = aliases
        } catch {
            if let base { munmap(base, length) }
            throw error
        }
    }

    deinit {
        if let base { munmap(base, length) }
    }

    /// The variable called `name`, following an alias; nil when absent.
    package func variable(_ name: String) -> Variable? {
        variables[name] ?? aliases[name].flatMap { variables[$0] }
    }

    /// The variable called `name`, or ``WhisperModelError/missingTensor(path:tensor:)``.
    package func require(_ name: String) throws -> Variable {
        guard let v = variable(name) else { throw WhisperModelError.missingTensor(path: path, tensor: name) }
        return v
    }

    /// An integer scalar (rank 0, int8/int16/int32), or `defaultValue` when absent.
    package func integer(_ name: String, default defaultValue: Int) throws -> Int {
        guard let v = variable(name) else { return defaultValue }
        guard v.shape.isEmpty || v.count == 1, let base else {
            throw WhisperModelError.shapeMismatch(path: path, tensor: name, expected: [], actual: v.shape)
        }
        let p = UnsafeRawPointer(base) + v.offset
        switch v.dataType {
        case .int8: return Int(p.loadUnaligned(as: Int8.self))
        case .int16: return Int(Int16(littleEndian: p.loadUnaligned(as: Int16.self)))
        case .int32: return Int(Int32(littleEndian: p.loadUnaligned(as: Int32.self)))
        default: throw WhisperModelError.unsupportedDataType(path: path, tensor: name, dataType: v.dataType.description)
        }
    }

    /// The tensor `name` as float32 values in row-major order, checked to have `shape`.
    ///
    /// float16 and bfloat16 are widened exactly; int8 and int16 weights are divided by their
    /// per-row (or scalar) `<name>_scale` float32 tensor, as CTranslate2 quantizes them. The
    /// mapped pages are released afterwards, so loading keeps about one copy in memory. O(n).
    package func floats(_ name: String, shape: [Int]) throws -> [Float] {
        let v = try require(name)
        guard v.shape == shape else {
            throw WhisperModelError.shapeMismatch(path: path, tensor: name, expected: shape, actual: v.shape)
        }
        let count = v.count
        guard count > 0, let base else { return [] }
        let source = UnsafeRawPointer(base) + v.offset
        var result = [Float](repeating: 0, count: count)
        try result.withUnsafeMutableBufferPointer { out in
            guard let dst = out.baseAddress else { return }
            switch v.dataType {
            case .float32:
                memcpy(dst, source, count * 4)
            case .float16:
                HalfFloat.widen(source, into: dst, count: count)
            case .bfloat16:
                for i in 0..<count {
                    let bits = UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                    dst[i] = Float(bitPattern: UInt32(bits) << 16)
                }
            case .int8, .int16:
                let scales = try scaleValues(for: v)
                let rowLength = scales.count == 1 ? count : count / scales.count
                for i in 0..<count {
                    let q: Float = v.dataType == .int8
                        ? Float(source.loadUnaligned(fromByteOffset: i, as: Int8.self))
                        : Float(Int16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self)))
                    dst[i] = q / scales[i / rowLength]
                }
            case .int32:
                throw WhisperModelError.unsupportedDataType(path: path, tensor: name, dataType: v.dataType.description)
            }
        }
        release(v)
        return result
    }

    /// The float16 tensor `name` as its raw bit patterns (host order), checked to have `shape`.
    package func halves(_ name: String, shape: [Int]) throws -> [UInt16] {
        let v = try require(name)
        guard v.shape == shape else {
            throw WhisperModelError.shapeMismatch(path: path, tensor: name, expected: shape, actual: v.shape)
        }
        guard v.dataType == .float16 else {
            throw WhisperModelError.unsupportedDataType(path: path, tensor: name, dataType: v.dataType.description)
        }
        guard v.count > 0, let base else { return [] }
        var result = [UInt16](repeating: 0, count: v.count)
        result.withUnsafeMutableBytes { if let dst = $0.baseAddress { memcpy(dst, base + v.offset, v.byteCount) } }
        for i in result.indices { result[i] = UInt16(littleEndian: result[i]) }
        release(v)
        return result
    }

    private func scaleValues(for v: Variable) throws -> [Float] {
        let scaleName = v.name + "_scale"
        guard let s = variables[scaleName] else {
            throw WhisperModelError.missingTensor(path: path, tensor: scaleName)
        }
        let rows = v.shape.first ?? 1
        guard s.dataType == .float32, s.count == 1 || (s.count == rows && v.shape.count >= 1), let base else {
            throw WhisperModelError.shapeMismatch(path: path, tensor: scaleName, expected: [rows], actual: s.shape)
        }
        let p = UnsafeRawPointer(base) + s.offset
        let values = (0..<s.count).map { p.loadUnaligned(fromByteOffset: 4 * $0, as: Float.self) }
        guard values.allSatisfy({ $0.isFinite && $0 != 0 }) else {
            throw WhisperModelError.corrupt(path: path, reason: "\(scaleName) holds a zero or non-finite scale")
        }
        return values
    }

    /// Drops the mapped pages of a converted variable from memory (they are re-read from the
    /// file if touched again).
    private func release(_ v: Variable) {
        guard let base else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = (v.offset + page - 1) / page * page
        let end = (v.offset + v.byteCount) / page * page
        if end > start { madvise(base + start, end - start, Int32(MADV_DONTNEED)) }
    }

    /// Bounds-checked little-endian cursor over the mapped bytes.
    private struct Reader {
        let bytes: UnsafeRawBufferPointer
        let path: String
        var offset = 0

        var atEnd: Bool { offset == bytes.count }

        mutating func take(_ n: Int, _ what: String) throws -> UnsafeRawPointer {
            guard n >= 0, bytes.count - offset >= n, let start = bytes.baseAddress else {
                throw WhisperModelError.truncated(path: path, offset: bytes.count, reading: what)
            }
            defer { offset += n }
            return start + offset
        }

        mutating func skip(_ n: Int, _ what: String) throws { _ = try take(n, what) }

        mutating func u8(_ what: String) throws -> UInt8 { try take(1, what).load(as: UInt8.self) }

        mutating func u16(_ what: String) throws -> UInt16 {
            UInt16(littleEndian: try take(2, what).loadUnaligned(as: UInt16.self))
        }

        mutating func u32(_ what: String) throws -> UInt32 {
            UInt32(littleEndian: try take(4, what).loadUnaligned(as: UInt32.self))
        }

        /// u16 length (bytes + 1), UTF-8 bytes, one NUL.
        mutating func string(_ what: String) throws -> String {
            let length = Int(try u16(what))
            guard length >= 1 else {
                throw WhisperModelError.corrupt(path: path, reason: "zero-length string at byte \(offset - 2) (\(what))")
            }
            let p = try take(length, what)
            guard p.load(fromByteOffset: length - 1, as: UInt8.self) == 0 else {
                throw WhisperModelError.corrupt(path: path, reason: "string at byte \(offset - length) is not NUL-terminated (\(what))")
            }
            let utf8 = UnsafeBufferPointer(start: p.assumingMemoryBound(to: UInt8.self), count: length - 1)
            guard let s = String(validating: utf8, as: UTF8.self) else {
                throw WhisperModelError.corrupt(path: path, reason: "string at byte \(offset - length) is not UTF-8 (\(what))")
            }
            return s
        }
    }
}

/// IEEE half-precision to single-precision widening through a 64K-entry table (exact for
/// every half value, including subnormals, infinities and NaN).
enum HalfFloat {
    static let table: [Float] = (0..<65536).map { widenSlow(UInt16($0)) }

    /// Widens `count` little-endian halves at `source` (any alignment) into `destination`.
    static func widen(_ source: UnsafeRawPointer, into destination: UnsafeMutablePointer<Float>, count: Int) {
        table.withUnsafeBufferPointer { t in
            for i in 0..<count {
                destination[i] = t[Int(UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))]
            }
        }
    }

    static func widenSlow(_ h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exponent = Int((h >> 10) & 0x1f)
        let mantissa = UInt32(h & 0x3ff)
        if exponent == 0 {
            let magnitude = Float(mantissa) * 0x1p-24
            return sign != 0 ? -magnitude : magnitude
        }
        if exponent == 31 {
            return Float(bitPattern: sign | 0x7f80_0000 | (mantissa << 13))
        }
        return Float(bitPattern: sign | UInt32(exponent - 15 + 127) << 23 | (mantissa << 13))
    }
}
