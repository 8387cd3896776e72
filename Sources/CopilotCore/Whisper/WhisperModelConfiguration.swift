import Foundation

/// One cross-attention head whose attention follows the audio in time (word timestamps
/// align tokens to audio through these heads).
package struct WhisperAlignmentHead: Sendable, Equatable {
    /// Decoder layer, from 0.
    package var layer: Int
    /// Head within the layer's cross-attention, from 0.
    package var head: Int

    /// Creates a head reference.
    package init(layer: Int, head: Int) {
        self.layer = layer
        self.head = head
    }
}

/// What a CTranslate2 Whisper directory says beside `model.bin`: `config.json` (suppression
/// lists, language ids, alignment heads and, when copied from Hugging Face, the model's sizes)
/// and the optional `preprocessor_config.json` (the mel band count).
///
/// ``check(against:weightsPath:)`` compares every size these files state with the sizes
/// `model.bin`'s tensors imply, so a directory assembled from two models fails at load with
/// the file and the key that disagree instead of misbehaving later.
package struct WhisperModelConfiguration: Sendable, Equatable {
    /// Path of `config.json`, named in errors.
    package let path: String
    /// Token ids suppressed at every step (`suppress_ids`).
    package var suppressIds: [Int]
    /// Token ids suppressed at the first step (`suppress_ids_begin`).
    package var suppressIdsAtBegin: [Int]
    /// Language token ids (`lang_ids`); empty when absent.
    package var languageIds: [Int]
    /// The alignment heads (`alignment_heads`); nil when config.json has none, so a feature
    /// that needs them (word timestamps) can refuse such a model.
    package var alignmentHeads: [WhisperAlignmentHead]?
    /// Sizes stated by Hugging Face keys (`num_mel_bins`, `decoder_layers`, ...) or by
    /// `preprocessor_config.json`'s `feature_size`, each with the file and key that stated it.
    package var statedSizes: [StatedSize]

    /// One size a configuration file states about the model.
    package struct StatedSize: Sendable, Equatable {
        /// The file that states it.
        package var path: String
        /// Its key in that file.
        package var key: String
        /// The value given.
        package var value: Int
        /// The matching dimension of the weights.
        package var dimension: KeyPath<WhisperDimensions, Int> & Sendable
        /// What the dimension is, for messages ("decoder layers").
        package var what: String
    }

    /// Hugging Face `config.json` keys that state a dimension, with what they mean.
    static let sizeKeys: [(key: String, dimension: KeyPath<WhisperDimensions, Int> & Sendable, what: String)] = [
        ("num_mel_bins", \.melCount, "mel bands"),
        ("d_model", \.width, "model width"),
        ("encoder_layers", \.encoderLayerCount, "encoder layers"),
        ("decoder_layers", \.decoderLayerCount, "decoder layers"),
        ("encoder_attention_heads", \.headCount, "attention heads"),
        ("decoder_attention_heads", \.headCount, "attention heads"),
        ("encoder_ffn_dim", \.ffnWidth, "feed-forward width"),
        ("decoder_ffn_dim", \.ffnWidth, "feed-forward width"),
        ("vocab_size", \.vocabularySize, "vocabulary tokens"),
        ("max_source_positions", \.audioContext, "audio positions"),
        ("max_target_positions", \.textContext, "text positions"),
    ]

    /// Reads `config.json` (required) and `preprocessor_config.json` (optional) in `directory`.
    package init(directory: URL) throws {
        let fm = FileManager.default
        path = directory.appendingPathComponent("config.json").path
        guard let data = fm.contents(atPath: path) else {
            throw WhisperModelError.unreadable(path: path, reason: "missing or unreadable")
        }
        let config = try Self.object(data, path: path)
        let configPath = path
        func integers(_ key: String) throws -> [Int]? {
            guard let value = config[key] else { return nil }
            guard let list = value as? [Any], let ints = list.map({ Self.integer($0) }) as? [Int] else {
                throw WhisperModelError.badConfig(path: configPath, reason: "`\(key)` must be a list of token ids")
            }
            return ints
        }
        suppressIds = try integers("suppress_ids") ?? []
        suppressIdsAtBegin = try integers("suppress_ids_begin") ?? []
        languageIds = try integers("lang_ids") ?? []
        if let value = config["alignment_heads"] {
            let pairs = (value as? [Any])?.map { ($0 as? [Any])?.compactMap(Self.integer) }
            guard let pairs, let heads = pairs as? [[Int]], heads.allSatisfy({ $0.count == 2 }) else {
                throw WhisperModelError.badConfig(path: path, reason: "`alignment_heads` must be a list of [layer, head] pairs")
            }
            alignmentHeads = heads.map { WhisperAlignmentHead(layer: $0[0], head: $0[1]) }
        } else {
            alignmentHeads = nil
        }
        var stated: [StatedSize] = []
        for (key, dimension, what) in Self.sizeKeys {
            guard let value = config[key] else { continue }
            guard let n = Self.integer(value) else {
                throw WhisperModelError.badConfig(path: path, reason: "`\(key)` must be an integer")
            }
            stated.append(StatedSize(path: path, key: key, value: n, dimension: dimension, what: what))
        }
        let preprocessorPath = directory.appendingPathComponent("preprocessor_config.json").path
        if let data = fm.contents(atPath: preprocessorPath), let value = try Self.object(data, path: preprocessorPath)["feature_size"] {
            guard let n = Self.integer(value) else {
                throw WhisperModelError.badConfig(path: preprocessorPath, reason: "`feature_size` must be an integer")
            }
            stated.append(StatedSize(path: preprocessorPath, key: "feature_size", value: n, dimension: \.melCount, what: "mel bands"))
        }
        statedSizes = stated
    }

    /// Throws the first disagreement between these files and the weights' `dimensions`: a
    /// stated size, a token id outside the vocabulary, an alignment head outside the decoder.
    package func check(against dimensions: WhisperDimensions, weightsPath: String) throws {
        for size in statedSizes where dimensions[keyPath: size.dimension] != size.value {
            throw WhisperModelError.configMismatch(
                path: size.path, key: size.key, value: size.value, weightsPath: weightsPath,
                actual: dimensions[keyPath: size.dimension], what: size.what)
        }
        let lists = [("suppress_ids", suppressIds), ("suppress_ids_begin", suppressIdsAtBegin), ("lang_ids", languageIds)]
        for (key, ids) in lists {
            if let id = ids.first(where: { $0 < 0 || $0 >= dimensions.vocabularySize }) {
                throw WhisperModelError.badConfig(
                    path: path, reason: "`\(key)` holds token id \(id), outside the \(dimensions.vocabularySize)-token vocabulary of \(weightsPath)")
            }
        }
        for head in alignmentHeads ?? []
        where !(0..<dimensions.decoderLayerCount).contains(head.layer) || !(0..<dimensions.headCount).contains(head.head) {
            throw WhisperModelError.badConfig(
                path: path,
                reason: "`alignment_heads` names [\(head.layer), \(head.head)], but \(weightsPath) has \(dimensions.decoderLayerCount) decoder layers of \(dimensions.headCount) heads")
        }
    }

    /// Checks the optional `tokenizer.json` beside the vocabulary: every token it lists must
    /// have an id inside the model's vocabulary and the same string in `tokenizer`.
    package static func checkTokenizerFile(_ path: String, against tokenizer: WhisperTokenizer, vocabularyPath: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else { return }
        let json = try object(data, path: path)
        var entries: [(String, Int)] = []
        if let vocabulary = (json["model"] as? [String: Any])?["vocab"] as? [String: Any] {
            for (token, id) in vocabulary {
                guard let id = integer(id) else {
                    throw WhisperModelError.badConfig(path: path, reason: "the id of token \(token) is not an integer")
                }
                entries.append((token, id))
            }
        }
        for case let added as [String: Any] in json["added_tokens"] as? [Any] ?? [] {
            if let token = added["content"] as? String, let id = added["id"].flatMap(integer) { entries.append((token, id)) }
        }
        let count = tokenizer.tokens.count
        if let (token, id) = entries.max(by: { $0.1 < $1.1 }), id >= count {
            throw WhisperModelError.badConfig(
                path: path, reason: "token \(token) has id \(id), but \(vocabularyPath) has \(count) tokens (the files are from different models)")
        }
        for (token, id) in entries where id < 0 || tokenizer.tokens[id] != token {
            throw WhisperModelError.badConfig(
                path: path, reason: "token id \(id) is \(token) here but \(id < 0 ? "invalid" : tokenizer.tokens[id]) in \(vocabularyPath) (the files are from different models)")
        }
    }

    private static func object(_ data: Data, path: String) throws -> [String: Any] {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw WhisperModelError.badConfig(path: path, reason: "not a JSON object")
        }
        return object
    }

    /// An integral JSON number as an Int (fractions and strings are not).
    private static func integer(_ value: Any) -> Int? { value as? Int }
}
