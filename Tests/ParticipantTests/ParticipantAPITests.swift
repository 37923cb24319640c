import Contracts
import Foundation
import InventoryCore
import PaymentCore
import ProfileCore
import ServiceKit
import ShippingCore
import Testing
import Yams

@Suite("Participants' OpenAPI documents")
struct ParticipantAPITests {
    @Test("each participant's /openapi.yaml documents exactly its routes, each with the scope it needs", arguments: ChoreographyReactionTests.all.map { $0.name.rawValue })
    func documented(name: String) async throws {
        let participant = try #require(ChoreographyReactionTests.all.first { $0.name.rawValue == name })
        let harness = try await Harness.make(participant)
        let routes = harness.routes
        #expect(try participant.document.mismatches(routes) == [])
        let document = try #require(try Yams.load(yaml: participant.document.render(routes)) as? [String: Any])
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        for route in routes {
            let operation = try #require(paths[APIDocument.documentPath(route.path)]?[route.method.rawValue.lowercased()] as? [String: Any], "\(route.path)")
            let security = try #require(operation["security"] as? [[String: [String]]])
            let responses = try #require(operation["responses"] as? [String: Any])
            if let scope = route.scope {
                #expect(security == [["bearer": [scope.rawValue]]], "\(route.method) \(route.path)")
                #expect(responses["401"] != nil && responses["403"] != nil, "\(route.method) \(route.path)")
            } else {
                #expect(security.isEmpty, "\(route.method) \(route.path) is open")
            }
        }
        let schemes = (document["components"] as? [String: Any])?["securitySchemes"] as? [String: Any]
        #expect(schemes?["bearer"] != nil)
    }

    @Test("a document that leaves a route out, or names one that is not served, is told apart")
    func mismatches() throws {
        let document = APIDocument(title: "t", summary: "s", port: 1, paths: """
        /a:
          get:
            responses: {"200": {description: ok}}
        /b/{id}:
          put:
            responses: {"200": {description: ok}}
        """)
        let routes = [
            ServiceRoutes.Entry(method: .get, path: "a", scope: nil),
            ServiceRoutes.Entry(method: .post, path: "c", scope: .admin),
            ServiceRoutes.Entry(method: .get, path: "health/live", scope: nil),
        ]
        #expect(try document.mismatches(routes) == ["post /c is served but not documented", "put /b/{id} is documented but not served"])
    }
}
