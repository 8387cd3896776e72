import CopilotCore
import Foundation

/// Everything the gateway answers with an error status, as an OpenAI-style error object
/// (`{"error": {"message", "type", "code"}}`) with the matching HTTP status.
package enum GatewayError: Error, LocalizedError, Equatable, Sendable {
    /// The body is not JSON, or not a chat-completions request object.
    case malformedJSON(reason: String)
    /// `Content-Type` is not `application/json`.
    case unsupportedContentType(String)
    /// The body is larger than `max_body_bytes`.
    case bodyTooLarge(limitBytes: Int)
    /// A required field (`model`, `messages`) is absent or of the wrong type.
    case missingField(String)
    /// No provider serves the model.
    case unknownModel(String, known: [String])
    /// `x-copilot-task` names no configured task.
    case unknownTask(String, known: [String])
    /// No bearer token, or the wrong one.
    case unauthorized
    /// Every candidate is down, full or failed, or the deadline passed; `detail` is the last failure.
    case upstreamUnavailable(model: String, detail: String)
    /// An upstream refused the request itself (4xx); its status is passed on. `detail` says
    /// which provider, `message` is the start of its answer.
    case upstreamRejected(status: Int, detail: String, message: String)
    /// The route does not exist.
    case notFound(path: String)
    /// The route exists but not with this method.
    case methodNotAllowed(method: String, path: String)
    /// Feedback while `[route] policy` learns nothing.
    case learningOff
    /// Feedback for a request id the gateway does not know (never answered, or forgotten).
    case unknownRequestID(String)
    /// Feedback after `feedback_ttl`.
    case feedbackExpired(String, ttlSeconds: Int)
    /// A second score for one answer.
    case alreadyScored(String)
    /// A score that is not a number in 0...1.
    case invalidScore(String)

    /// HTTP status of the response.
    package var status: Int {
        switch self {
        case .malformedJSON, .missingField: 400
        case .unsupportedContentType: 415
        case .bodyTooLarge: 413
        case .unknownModel: 404
        case .unknownTask: 400
        case .unauthorized: 401
        case .upstreamUnavailable: 503
        case .upstreamRejected(let status, _, _): status
        case .notFound: 404
        case .methodNotAllowed: 405
        case .learningOff: 409
        case .unknownRequestID: 404
        case .feedbackExpired: 410
        case .alreadyScored: 409
        case .invalidScore: 400
        }
    }

    /// OpenAI's `type` field.
    package var type: String {
        switch self {
        case .unauthorized: "authentication_error"
        case .upstreamUnavailable: "api_error"
        case .upstreamRejected: "invalid_request_error"
        default: "invalid_request_error"
        }
    }

    /// OpenAI's `code` field.
    package var code: String {
        switch self {
        case .malformedJSON: "invalid_json"
        case .unsupportedContentType: "unsupported_content_type"
        case .bodyTooLarge: "body_too_large"
        case .missingField: "missing_field"
        case .unknownModel: "model_not_found"
        case .unknownTask: "unknown_task"
        case .unauthorized: "invalid_api_key"
        case .upstreamUnavailable: "upstream_unavailable"
        case .upstreamRejected: "upstream_rejected"
        case .notFound: "not_found"
        case .methodNotAllowed: "method_not_allowed"
        case .learningOff: "learning_off"
        case .unknownRequestID: "unknown_request_id"
        case .feedbackExpired: "feedback_expired"
        case .alreadyScored: "already_scored"
        case .invalidScore: "invalid_score"
        }
    }

    /// The message for this error.
    package var errorDescription: String? {
        switch self {
        case .malformedJSON(let reason):
            "request body is not valid JSON (\(reason)); send a chat-completions object"
        case .unsupportedContentType(let type):
            "Content-Type \"\(type)\" is not supported; send application/json"
        case .bodyTooLarge(let limit):
            "request body is over \(limit) bytes; send less or raise route.max_body_bytes"
        case .missingField(let field):
            "`\(field)` is required"
        case .unknownModel(let model, let known):
            "model \"\(model)\" is not served by any provider; known models: \(known.joined(separator: ", "))"
        case .unknownTask(let task, let known):
            "task \"\(task)\" is not configured; known tasks: \(known.isEmpty ? "(none)" : known.joined(separator: ", "))"
        case .unauthorized:
            "missing or wrong bearer token; send Authorization: Bearer <token>"
        case .upstreamUnavailable(let model, let detail):
            "no provider could answer for model \"\(model)\": \(detail)"
        case .upstreamRejected(_, let detail, let message):
            "\(detail); the request itself was refused: \(message)"
        case .notFound(let path):
            "no route \(path); the gateway serves /v1/chat/completions, /v1/models, /v1/feedback, /health and /metrics"
        case .methodNotAllowed(let method, let path):
            "\(method) is not allowed on \(path)"
        case .learningOff:
            "this gateway learns nothing ([route] policy = \"health\"); set policy = \"thompson\" to take feedback"
        case .unknownRequestID(let id):
            "no answer with request id \"\(id)\" is remembered; send the x-copilot-request-id of an answer this gateway gave"
        case .feedbackExpired(let id, let ttl):
            "the answer \"\(id)\" is older than feedback_ttl (\(ttl) s); score answers sooner or raise [route] feedback_ttl"
        case .alreadyScored(let id):
            "the answer \"\(id)\" was scored already; each answer takes one score"
        case .invalidScore(let given):
            "score \(given) is not a number in 0...1; send 0 for the worst answer, 1 for the best"
        }
    }

    /// The OpenAI error object, as JSON bytes.
    package var body: String {
        "{\"error\":{\"message\":\(JSONText.quote(errorDescription ?? "")),\"type\":\"\(type)\",\"code\":\"\(code)\"}}"
    }
}
