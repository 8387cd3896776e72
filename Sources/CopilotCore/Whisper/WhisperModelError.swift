import Foundation

/// Why a Whisper model directory (CTranslate2 format) could not be used.
public enum WhisperModelError: Error, LocalizedError, Equatable {
    /// No model directory was found: `searched` lists the places tried, in order.
    case notFound(searched: [String])
    /// `$COPILOT_MODEL_DIR` is set but holds no `model.bin`.
    case environmentDirectoryMissing(path: String)
    /// A required file of the model directory is absent or unreadable.
    case unreadable(path: String, reason: String)
    /// The file ends before the structure it declares: `offset` is where reading stopped.
    case truncated(path: String, offset: Int, reading: String)
    /// `model.bin` declares a binary version this reader does not know (it reads 6).
    case unsupportedVersion(path: String, version: Int)
    /// `model.bin` holds another kind of model (for example a translation model).
    case foreignModel(path: String, spec: String)
    /// A tensor's data type code is not one of CTranslate2's six.
    case unknownDataType(path: String, tensor: String, code: Int)
    /// A tensor's byte count differs from its shape times its item size.
    case sizeMismatch(path: String, tensor: String, expectedBytes: Int, actualBytes: Int)
    /// A tensor the Whisper architecture needs is absent.
    case missingTensor(path: String, tensor: String)
    /// A tensor has another shape than the model's dimensions imply.
    case shapeMismatch(path: String, tensor: String, expected: [Int], actual: [Int])
    /// A tensor has a data type this reader cannot turn into float32 weights.
    case unsupportedDataType(path: String, tensor: String, dataType: String)
    /// A structural problem (duplicate or unsorted names, dangling alias, bad string, extra bytes).
    case corrupt(path: String, reason: String)
    /// The model uses an architectural option copilot does not implement.
    case unsupportedArchitecture(path: String, reason: String)
    /// A file beside `model.bin` (`config.json`, `tokenizer.json`, ...) is not what
    /// CTranslate2 writes for Whisper, or names tokens or heads the model does not have.
    case badConfig(path: String, reason: String)
    /// A file beside `model.bin` states a size (`value`, under `key`) that differs from the one the
    /// weights in `weightsPath` have (`actual` `what`, e.g. 4 "decoder layers").
    case configMismatch(path: String, key: String, value: Int, weightsPath: String, actual: Int, what: String)
    /// The model cannot transcribe the requested language (tiny.en is English only).
    case unsupportedLanguage(language: String, model: String, supported: String)
    /// Word timestamps were asked of a model whose `config.json` (at `path`) lists no
    /// alignment heads.
    case noAlignmentHeads(path: String)

    public var errorDescription: String? {
        switch self {
        case .notFound(let searched):
            "no Whisper model found (looked in \(searched.joined(separator: ", "))); run `make model` or `make install`, or pass --model DIR"
        case .environmentDirectoryMissing(let path):
            "COPILOT_MODEL_DIR=\(path) holds no model.bin; point it at a CTranslate2 Whisper model directory, or unset it"
        case .unreadable(let path, let reason):
            "cannot read \(path): \(reason); pass a CTranslate2 Whisper model directory to --model (run `make model` for tiny.en)"
        case .truncated(let path, let offset, let reading):
            "\(path) is truncated: it ends at byte \(offset) while reading \(reading); download the model again (`make model`)"
        case .unsupportedVersion(let path, let version):
            "\(path) has CTranslate2 binary version \(version), copilot reads version 6; convert the model with a current ct2-transformers-converter"
        case .foreignModel(let path, let spec):
            "\(path) holds a \(spec.isEmpty ? "non-Whisper" : spec) model, not a WhisperSpec model; pass a Whisper model directory to --model"
        case .unknownDataType(let path, let tensor, let code):
            "\(path): tensor \(tensor) has unknown data type code \(code); the file is corrupt or from an unsupported CTranslate2"
        case .sizeMismatch(let path, let tensor, let expected, let actual):
            "\(path): tensor \(tensor) holds \(actual) bytes but its shape needs \(expected); the file is corrupt, download it again"
        case .missingTensor(let path, let tensor):
            "\(path): required tensor \(tensor) is missing; this is not a complete Whisper model"
        case .shapeMismatch(let path, let tensor, let expected, let actual):
            "\(path): tensor \(tensor) has shape \(actual), expected \(expected); the file is corrupt or not a Whisper model"
        case .unsupportedDataType(let path, let tensor, let dataType):
            "\(path): tensor \(tensor) is stored as \(dataType), which copilot cannot use there; convert the model to float16, float32 or int8"
        case .corrupt(let path, let reason):
            "\(path) is corrupt: \(reason); download the model again (`make model`)"
        case .unsupportedArchitecture(let path, let reason):
            "\(path): \(reason), which copilot does not implement; use a Whisper model converted by CTranslate2"
        case .badConfig(let path, let reason):
            "\(path): \(reason); restore the file that came with the model (`make model` downloads tiny.en again)"
        case .configMismatch(let path, let key, let value, let weightsPath, let actual, let what):
            "\(path) gives \(value) \(what) (\(key)) but \(weightsPath) has \(actual); the files are from different models, restore the ones that came with model.bin"
        case .unsupportedLanguage(let language, let model, let supported):
            "language \"\(language)\" is not supported by the model in \(model) (it transcribes \(supported)); copilot runs English-only Whisper models, so drop --language (or pass --language en)"
        case .noAlignmentHeads(let path):
            "\(path) has no alignment_heads, which word timestamps need; convert the model with a current ct2-transformers-converter, or drop --word-timestamps"
        }
    }
}
