import CopilotCore
import CopilotTestSupport
import Foundation
import Testing

@Suite struct ModelFileTests {
    private func halfBytes(_ values: [UInt16]) -> [UInt8] {
        values.flatMap { v in [UInt8(v & 0xff), UInt8(v >> 8)] }
    }

    @Test(.enabled(if: TestModel.directory != nil, TestModel.skipMessage))
    func realModelLoadsWithTinyEnDimensions() throws {
        let weights = try #require(try TestModel.weights())
        let dims = weights.dimensions
        #expect(dims == WhisperDimensions(
            melCount: 80, audioContext: 1500, width: 384, headCount: 6, encoderLayerCount: 4,
            decoderLayerCount: 4, ffnWidth: 1536, vocabularySize: 51864, textContext: 448))
        #expect(weights.tokenEmbedding.vocabularySize == 51864 && weights.tokenEmbedding.width == 384)
        // The fused q;k;v bias has zeros in the key slot.
        #expect(weights.encoderLayers[0].qkv.bias[384..<768].allSatisfy { $0 == 0 })
    }

    @Test(.enabled(if: TestModel.directory != nil, TestModel.skipMessage))
    func realModelIndexHasAliasAndScalars() throws {
        let dir = try #require(TestModel.directory)
        let file = try ModelFile(path: dir.appendingPathComponent("model.bin").path)
        #expect(file.binaryVersion == 6)
        #expect(file.specName == "WhisperSpec")
        #expect(file.variables.count == 148)
        #expect(file.aliases["decoder/projection/weight"] == "decoder/embeddings/weight")
        #expect(try file.integer("decoder/num_heads", default: 0) == 6)
        #expect(try file.integer("decoder/activation", default: 0) == 3)
    }

    @Test(.enabled(if: TestModel.directory != nil, TestModel.skipMessage))
    func truncatedRealModelNamesTheOffset() throws {
        let dir = try #require(TestModel.directory)
        let handle = try FileHandle(forReadingFrom: dir.appendingPathComponent("model.bin"))
        let head = try handle.read(upToCount: 1_000_000) ?? Data()
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("copilot-trunc-\(UUID()).bin").path
        try head.write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect {
            try ModelFile(path: path)
        } throws: { error in
            guard case WhisperModelError.truncated(let p, let offset, _) = error else { return false }
            return p == path && offset == 1_000_000 && error.localizedDescription.contains("truncated")
        }
    }

    @Test func convertsFloat16BFloat16AndInt8WithScales() throws {
        var b = ModelBinBuilder()
        // 1.0, -2.0, 0.5, 65504 (max half), smallest subnormal
        b.add("h", shape: [5], dtype: 4, bytes: halfBytes([0x3C00, 0xC000, 0x3800, 0x7BFF, 0x0001]))
        b.add("bf", shape: [2], dtype: 5, bytes: halfBytes([0x3F80, 0xC040]))  // 1.0, -3.0
        b.add("q", shape: [2, 2], dtype: 1, bytes: [10, 0xF6, 4, 8])  // [[10, -10], [4, 8]]
        b.add("q_scale", shape: [2], floats: [2, 4])
        b.add("n", shape: [], dtype: 2, bytes: [6, 0])
        b.aliases = [("alias", "h")]
        let path = try b.write()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let file = try ModelFile(path: path)
        #expect(try file.floats("h", shape: [5]) == [1, -2, 0.5, 65504, 0x1p-24])
        #expect(try file.floats("alias", shape: [5]) == [1, -2, 0.5, 65504, 0x1p-24])
        #expect(try file.floats("bf", shape: [2]) == [1, -3])
        #expect(try file.floats("q", shape: [2, 2]) == [5, -5, 1, 2])
        #expect(try file.integer("n", default: 0) == 6)
        #expect(throws: WhisperModelError.shapeMismatch(path: path, tensor: "h", expected: [4], actual: [5])) {
            try file.floats("h", shape: [4])
        }
    }

    @Test func int8WithoutScaleIsRefused() throws {
        var b = ModelBinBuilder()
        b.add("q", shape: [2], dtype: 1, bytes: [1, 2])
        let path = try b.write()
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(throws: WhisperModelError.missingTensor(path: path, tensor: "q_scale")) {
            try ModelFile(path: path).floats("q", shape: [2])
        }
    }

    @Test func structuralDamageIsRefused() throws {
        func check(_ builder: ModelBinBuilder, cut: Int = 0, _ matches: (WhisperModelError) -> Bool) throws {
            var data = builder.data()
            if cut > 0 { data = data.prefix(data.count - cut) }
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("copilot-bad-\(UUID()).bin").path
            try data.write(to: URL(fileURLWithPath: path))
            defer { try? FileManager.default.removeItem(atPath: path) }
            #expect {
                try ModelFile(path: path)
            } throws: { error in
                guard let e = error as? WhisperModelError else { return false }
                return matches(e) && e.localizedDescription.contains(path)
            }
        }
        var good = ModelBinBuilder()
        good.add("a", shape: [3], floats: [1, 2, 3])
        good.add("b", shape: [2], floats: [4, 5])

        var version = good
        version.version = 5
        try check(version) { if case .unsupportedVersion(_, 5) = $0 { true } else { false } }

        var dtype = good
        dtype.add("c", shape: [1], dtype: 9, bytes: [0])
        try check(dtype) { if case .unknownDataType(_, "c", 9) = $0 { true } else { false } }

        var size = good
        size.add("c", shape: [4], dtype: 0, bytes: [0, 0, 0, 0], byteCount: 4)
        try check(size) { if case .sizeMismatch(_, "c", 16, 4) = $0 { true } else { false } }

        try check(good, cut: 6) { if case .truncated = $0 { true } else { false } }
        try check(good, cut: 3) { if case .truncated = $0 { true } else { false } }

        var alias = good
        alias.aliases = [("x", "missing")]
        try check(alias) { if case .corrupt = $0 { true } else { false } }

        var trailing = good.data()
        trailing.append(contentsOf: [1, 2, 3])
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("copilot-tail-\(UUID()).bin").path
        try trailing.write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(throws: WhisperModelError.self) { try ModelFile(path: path) }
    }

    @Test func foreignOrIncompleteModelsAreRefused() throws {
        var foreign = ModelBinBuilder()
        foreign.spec = "TransformerSpec"
        foreign.add("a", shape: [1], floats: [1])
        let p1 = try foreign.write()
        defer { try? FileManager.default.removeItem(atPath: p1) }
        #expect(throws: WhisperModelError.foreignModel(path: p1, spec: "TransformerSpec")) {
            try WhisperWeights.load(from: ModelFile(path: p1))
        }

        var incomplete = ModelBinBuilder()
        incomplete.add("encoder/conv1/weight", shape: [4, 2, 3], floats: Array(repeating: 0, count: 24))
        let p2 = try incomplete.write()
        defer { try? FileManager.default.removeItem(atPath: p2) }
        #expect(throws: WhisperModelError.missingTensor(path: p2, tensor: "encoder/position_encodings/encodings")) {
            try WhisperWeights.load(from: ModelFile(path: p2))
        }

        #expect(throws: WhisperModelError.self) { try ModelFile(path: "/nonexistent/model.bin") }
    }
}
