import CopilotGateway
import Foundation
import Testing

@Suite struct GatewayErrorTests {
    @Test func errorObjectIsOpenAIShaped() throws {
        let error = GatewayError.unknownModel("gpt-9", known: ["llama3.2"])
        let object = try JSONSerialization.jsonObject(with: Data(error.body.utf8)) as? [String: Any]
        let inner = try #require(object?["error"] as? [String: Any])
        #expect(inner["code"] as? String == "model_not_found")
        #expect(inner["type"] as? String == "invalid_request_error")
        #expect((inner["message"] as? String)?.contains("gpt-9") == true)
        #expect(error.status == 404)
    }
}
