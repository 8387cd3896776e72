import CopilotCore
import CopilotTestSupport
import Foundation
import Testing

/// A model directory whose files disagree with its `model.bin` fails at load with the file,
/// the key and both values, never later in the encoder. The real-model cases link tiny.en's
/// files into a scratch directory and replace only the file under test.
@Suite struct ModelConfigurationTests {
    /// A scratch model directory: tiny.en's files linked (never modified), `replaced` written.
    private func directory(replacing replaced: [String: Data] = [:], removing removed: Set<String> = []) throws -> URL {
        let model = try #require(TestModel.directory)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("copilot-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for name in ["model.bin", "config.json", "tokenizer.json", "vocabulary.txt"] where replaced[name] == nil && !removed.contains(name) {
            try FileManager.default.createSymbolicLink(at: dir.appendingPathComponent(name), withDestinationURL: model.appendingPathComponent(name))
        }
        for (name, data) in replaced { try data.write(to: dir.appendingPathComponent(name)) }
        return dir
    }

    /// tiny.en's config.json with `changes` applied (nil removes a key).
    private func config(_ changes: [String: Any?]) throws -> Data {
        let model = try #require(TestModel.directory)
        var object = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: model.appendingPathComponent("config.json"))) as? [String: Any])
        for (key, value) in changes { object[key] = value }
        return try JSONSerialization.data(withJSONObject: object)
    }

    private func loadError(_ dir: URL) -> WhisperModelError? {
        do {
            _ = try WhisperModel(directory: dir.path)
            return nil
        } catch {
            return error as? WhisperModelError
        }
    }

    @Test(.enabled(if: TestModel.directory != nil, TestModel.skipMessage))
    func sizesStatedInConfigMustMatchTheWeights() throws {
        let cases: [(String, Int, Int, String)] = [
            ("num_mel_bins", 128, 80, "mel bands"), ("decoder_layers", 6, 4, "decoder layers"),
            ("encoder_layers", 2, 4, "encoder layers"), ("vocab_size", 51865, 51864, "vocabulary tokens"),
            ("d_model", 512, 384, "model width"),
        ]
        for (key, value, actual, what) in cases {
            let dir = try directory(replacing: ["config.json": try config([key: value])])
            defer { try? FileManager.default.removeItem(at: dir) }
            let configPath = dir.appendingPathComponent("config.json").path
            let weightsPath = dir.appendingPathComponent("model.bin").path
            let error = try #require(loadError(dir), "\(key)")
            #expect(error == .configMismatch(path: configPath, key: key, value: value, weightsPath: weightsPath, actual: actual, what: what))
            #expect(
                error.errorDescription
                    == "\(configPath) gives \(value) \(what) (\(key)) but \(weightsPath) has \(actual); the files are from different models, restore the ones that came with model.bin")
        }
    }

    @Test(.enabled(if: TestModel.directory != nil, TestModel.skipMessage))
    func preprocessorFeatureSizeMustMatchTheMelBands() throws {
        let dir = try directory(replacing: ["preprocessor_config.json": Data(#"{"feature_size": 128, "sampling_rate": 16000}"#.utf8)])
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(
            loadError(dir) == .configMismatch(
                path: dir.appendingPathComponent("preprocessor_config.json").path, key: "feature_size", value: 128,
                weightsPath: dir.appendingPathComponent("model.bin").path, actual: 80, what: "mel bands"))
    }

    @Test(.enabled(if: TestModel.directory != nil, TestModel.skipMessage))
    func alignmentHeadsAndTokenIdsMustFitTheModel() throws {
        let heads = try directory(replacing: ["config.json": try config(["alignment_heads": [[1, 0], [4, 2]]])])
        defer { try? FileManager.default.removeItem(at: heads) }
        #expect(
            loadError(heads)?.errorDescription
                == "\(heads.path)/config.json: `alignment_heads` names [4, 2], but \(heads.path)/model.bin has 4 decoder layers of 6 heads; restore the file that came with the model (`make model` downloads tiny.en again)")

        let malformed = try directory(replacing: ["config.json": try config(["alignment_heads": [[1, 0, 3]]])])
        defer { try? FileManager.default.removeItem(at: malformed) }
        #expect(loadError(malformed) == .badConfig(path: malformed.path + "/config.json", reason: "`alignment_heads` must be a list of [layer, head] pairs"))

        let languages = try directory(replacing: ["config.json": try config(["lang_ids": [50259, 60000]])])
        defer { try? FileManager.default.removeItem(at: languages) }
        #expect(
            loadError(languages) == .badConfig(
                path: languages.path + "/config.json",
                reason: "`lang_ids` holds token id 60000, outside the 51864-token vocabulary of \(languages.path)/model.bin"))
    }

    @Test(.enabled(if: TestModel.directory != nil, TestModel.skipMessage))
    func vocabularyFilesMustMatchTheEmbedding() throws {
        let model = try #require(TestModel.directory)
        var lines = try String(contentsOf: model.appendingPathComponent("vocabulary.txt"), encoding: .utf8)
            .split(separator: "\n", omittingEmptySubsequences: false)
        lines.remove(at: 100)
        let short = try directory(replacing: ["vocabulary.txt": Data(lines.joined(separator: "\n").utf8)])
        defer { try? FileManager.default.removeItem(at: short) }
        #expect(
            loadError(short) == .configMismatch(
                path: short.path + "/vocabulary.txt", key: "one per line", value: 51863, weightsPath: short.path + "/model.bin",
                actual: 51864, what: "vocabulary tokens"))

        // tokenizer.json from another vocabulary: token 1 is `"` in vocabulary.txt.
        let other = try directory(replacing: ["tokenizer.json": Data(#"{"model": {"vocab": {"!": 0, "x": 1}}, "added_tokens": []}"#.utf8)])
        defer { try? FileManager.default.removeItem(at: other) }
        #expect(
            loadError(other) == .badConfig(
                path: other.path + "/tokenizer.json",
                reason: "token id 1 is x here but \" in \(other.path)/vocabulary.txt (the files are from different models)"))

        let beyond = try directory(replacing: ["tokenizer.json": Data(#"{"model": {"vocab": {"!": 0}}, "added_tokens": [{"id": 51864, "content": "<|x|>"}]}"#.utf8)])
        defer { try? FileManager.default.removeItem(at: beyond) }
        #expect(loadError(beyond)?.errorDescription?.contains("token <|x|> has id 51864, but \(beyond.path)/vocabulary.txt has 51864 tokens") == true)
    }

    @Test(.enabled(if: TestModel.directory != nil, TestModel.skipMessage))
    func alignmentHeadsAreExposedOrNil() throws {
        let model = try WhisperModel(directory: try #require(TestModel.directory).path)
        #expect(model.alignmentHeads?.count == 8)
        #expect(model.alignmentHeads?.first == WhisperAlignmentHead(layer: 1, head: 0))
        #expect(model.alignmentHeads?.last == WhisperAlignmentHead(layer: 3, head: 4))

        let dir = try directory(replacing: ["config.json": try config(["alignment_heads": nil])])
        defer { try? FileManager.default.removeItem(at: dir) }
        let configuration = try WhisperModelConfiguration(directory: dir)
        #expect(configuration.alignmentHeads == nil)
        #expect(configuration.suppressIdsAtBegin == [220, 50256])
    }

    @Test(.enabled(if: TestModel.directory != nil, TestModel.skipMessage))
    func damagedModelBinCopiesAreRefusedWithTheirProblem() throws {
        let model = try #require(TestModel.directory)
        let head = try #require(try FileHandle(forReadingFrom: model.appendingPathComponent("model.bin")).read(upToCount: 2_000_000))
        let (name, rankOffset) = try firstVariable(head)
        // An unknown data type code in the first tensor.
        var dtype = head
        let rank = Int(head[rankOffset])
        dtype[rankOffset + 1 + 4 * rank] = 9
        let d1 = try directory(replacing: ["model.bin": dtype])
        defer { try? FileManager.default.removeItem(at: d1) }
        #expect(loadError(d1) == .unknownDataType(path: d1.path + "/model.bin", tensor: name, code: 9))
        #expect(loadError(d1)?.errorDescription?.hasPrefix("\(d1.path)/model.bin: tensor \(name) has unknown data type code 9") == true)

        // Truncated inside the tensor data: the offset where the file ends is named.
        let d2 = try directory(replacing: ["model.bin": head])
        defer { try? FileManager.default.removeItem(at: d2) }
        guard case .truncated(let path, 2_000_000, _) = try #require(loadError(d2)) else {
            Issue.record("expected truncated, got \(String(describing: loadError(d2)))")
            return
        }
        #expect(path == d2.path + "/model.bin")
    }

    @Test func modelsOtherThanWhispersGeometryAreRefusedBeforeLoading() throws {
        func model(mels: Int, audio: Int, text: Int) -> ModelBinBuilder {
            ModelBinBuilder.whisperSkeleton(mels: mels, audioPositions: audio, textPositions: text)
        }
        let cases: [(ModelBinBuilder, String)] = [
            (model(mels: 128, audio: 1500, text: 448), "encoder/conv1/weight takes 128 mel bands (copilot computes 80)"),
            (model(mels: 80, audio: 1000, text: 448), "encoder/position_encodings/encodings has 1000 audio positions (Whisper's 30 s window has 1500)"),
            (model(mels: 80, audio: 1500, text: 4), "decoder/position_encodings/encodings has 4 text positions (Whisper has 448)"),
        ]
        for (builder, reason) in cases {
            let path = try builder.write()
            defer { try? FileManager.default.removeItem(atPath: path) }
            #expect(throws: WhisperModelError.unsupportedArchitecture(path: path, reason: reason)) {
                try WhisperWeights.dimensions(of: ModelFile(path: path))
            }
        }
        let path = try model(mels: 80, audio: 1500, text: 448).write()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let dims = try WhisperWeights.dimensions(of: ModelFile(path: path))
        #expect(dims.melCount == 80 && dims.width == 4 && dims.headCount == 1 && dims.vocabularySize == 10)
    }

    /// The first variable's name and the offset of its rank byte in a model.bin head.
    private func firstVariable(_ data: Data) throws -> (String, Int) {
        let bytes = [UInt8](data.prefix(4096))
        func u16(_ i: Int) -> Int { Int(bytes[i]) | Int(bytes[i + 1]) << 8 }
        var offset = 4
        offset += 2 + u16(offset)  // spec name
        offset += 4 + 4  // revision, variable count
        let length = u16(offset)
        let name = String(decoding: bytes[(offset + 2)..<(offset + 2 + length - 1)], as: UTF8.self)
        return (name, offset + 2 + length)
    }
}
