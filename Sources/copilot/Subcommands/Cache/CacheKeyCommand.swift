import ArgumentParser
import CopilotCore

/// `copilot cache key`: the canonical key of a chat-completion request.
struct CacheKeyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "key",
        abstract: "Print the cache key of an OpenAI chat-completion request (JSON on stdin or in a file).",
        discussion: """
            The key is chat: and the SHA-256 of the request's model, messages, tools, \
            temperature, top_p, max_tokens, seed, response_format (and the other fields that \
            change the answer) in canonical JSON: key order, whitespace and number spelling do \
            not matter; stream and user do not count. The gateway uses the same key.

            Examples:
              copilot cache key < request.json
              copilot cache key request.json --canonical
              copilot cache get "$(copilot cache key < request.json)"
            """)

    @Argument(help: "Request file; absent or `-`: stdin.")
    var input: String?

    @Flag(help: "Print the canonical JSON that is hashed instead of the key.")
    var canonical = false

    func run() throws {
        try runCacheCommand {
            let bytes = input == nil || input == "-" ? try readStandardInput(limit: 64 << 20) : try CacheTransfer.readFile(input!)
            let text = canonical ? try CacheKey.canonicalJSON(request: bytes) : try CacheKey.key(request: bytes)
            try FileDescriptorOutput.standardOutput.write(text + "\n")
        }
    }
}
