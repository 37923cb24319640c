import Contracts
import Foundation
import HTTPTypes
import Hummingbird
import Messaging
import ServiceKit

extension OrchestratorService {
    static func addRoutes(to routes: ServiceRoutes, intake: OrderIntake) {
        let runner = intake.runner
        let tracker = intake.tracker
        routes.post("orders", scope: .ordersWrite) { request, context -> Response in
            let order = try await request.decodeJSON(OrderRequest.self, context: context)
            if let problem = order.problem { throw APIError.badRequest(problem, code: "invalid-order") }
            let key = request.headers[HTTPField.Name("Idempotency-Key")!]
            if let key, !(1...200).contains(TextRule.length(key)) {
                throw APIError.badRequest("the Idempotency-Key header must be 1-200 characters", code: "invalid-idempotency-key")
            }
            let placed: (orderID: String, created: Bool, mode: CheckoutMode)
            do {
                placed = try await intake.place(order, idempotencyKey: key, traceparent: request.headers[HTTPField.Name("traceparent")!])
            } catch let off as ChoreographyOff {
                throw APIError(.conflict, code: "choreography-off", message: off.description)
            }
            let (orderID, created, mode) = placed
            let url = "/orders/\(orderID)"
            let accepted = OrderAccepted(orderId: orderID, status: "running", mode: mode, url: url, consistencyToken: ConsistencyToken(orderID: orderID, stage: .placed).text)
            var response = try ServiceHTTPServer.jsonResponse(created ? .accepted : .ok, accepted)
            response.headers[.location] = url
            return response
        }
        routes.get("orders/:id", scope: .ordersRead) { _, context -> Response in
            let id = try context.parameters.decoded("id")
            if let saga = try await runner.saga(id) {
                return try ServiceHTTPServer.jsonResponse(.ok, OrderView(saga, definition: runner.definition(saga.definitionName, version: saga.definitionVersion)))
            }
            if let order = try await tracker.view(id) {
                return try ServiceHTTPServer.jsonResponse(.ok, order)
            }
            throw APIError.notFound("order '\(id)' does not exist")
        }
        routes.get("choreography", scope: .ordersRead) { request, _ -> Response in
            let document = ChoreographyDocument(topics: runner.topics)
            switch request.uri.queryParameters["format"].map(String.init) ?? "json" {
            case "json":
                return try ServiceHTTPServer.jsonResponse(.ok, document)
            case "mermaid":
                return Response(status: .ok, headers: [.contentType: "text/vnd.mermaid; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: document.mermaid)))
            default:
                throw APIError.badRequest("format must be json or mermaid", code: "invalid-parameter")
            }
        }
        routes.post("orders/:id/retry", scope: .ordersWrite) { _, context -> Response in
            let id = try context.parameters.decoded("id")
            do {
                let saga = try await runner.retry(id)
                return try ServiceHTTPServer.jsonResponse(.accepted, OrderView(saga, definition: runner.definition(saga.definitionName, version: saga.definitionVersion)))
            } catch SagaRunnerError.notFound {
                throw APIError.notFound("order '\(id)' does not exist")
            } catch let error as SagaRunnerError {
                throw APIError(.conflict, code: "not-retriable", message: error.description)
            }
        }
        routes.get("orders", scope: .ordersRead) { request, _ -> Response in
            let query = request.uri.queryParameters
            var status: SagaStatus?
            if let text = query["status"].map(String.init) {
                guard let parsed = SagaStatus(rawValue: text) else {
                    throw APIError.badRequest("status must be one of \(SagaStatus.allCases.map(\.rawValue).joined(separator: ", "))", code: "invalid-parameter")
                }
                status = parsed
            }
            let limit = try Self.integer(query["limit"].map(String.init), name: "limit", default: 50, range: 1...500)
            let offset = try Self.integer(query["offset"].map(String.init), name: "offset", default: 0, range: 0...1_000_000_000)
            let customer = query["customer"].map(String.init)
            let sagas = try await runner.sagas(status: status, customer: customer, limit: limit, offset: offset)
            let page = OrderPage(orders: sagas.map(OrderSummary.init), limit: limit, offset: offset, nextOffset: sagas.count == limit ? offset + limit : nil)
            return try ServiceHTTPServer.jsonResponse(.ok, page)
        }
        routes.get("breakers", scope: .ordersRead) { _, _ -> Response in
            let now = Date()
            let views = try await runner.breakerRecords().map { BreakerView($0, now: now) }
            return try ServiceHTTPServer.jsonResponse(.ok, views)
        }
        routes.get("sagas/definitions", scope: .ordersRead) { _, _ -> Response in
            try ServiceHTTPServer.jsonResponse(.ok, runner.allDefinitions.map { OrderView.DefinitionReference(name: $0.name, version: $0.version) })
        }
        routes.get("sagas/definitions/:name/:version", scope: .ordersRead) { request, context -> Response in
            let name = try context.parameters.decoded("name")
            guard let version = Int(try context.parameters.require("version")) else {
                throw APIError.badRequest("version must be a number", code: "invalid-parameter")
            }
            guard let definition = runner.definition(name, version: version) else {
                throw APIError.notFound("saga definition \(name) version \(version) does not exist")
            }
            let format = request.uri.queryParameters["format"].map(String.init) ?? "json"
            switch format {
            case "json":
                return try ServiceHTTPServer.jsonResponse(.ok, definition)
            case "mermaid":
                return Response(status: .ok, headers: [.contentType: "text/vnd.mermaid; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: definition.mermaid)))
            default:
                throw APIError.badRequest("format must be json or mermaid", code: "invalid-parameter")
            }
        }
        routes.post("sagas/definitions", scope: .admin) { request, context -> Response in
            let definition = try await request.decodeJSON(SagaDefinition.self, context: context)
            do {
                guard try await runner.importDefinition(definition) else {
                    throw APIError(.conflict, code: "definition-exists", message: "\(definition.name) version \(definition.version) already exists; import a new version")
                }
            } catch let error as DefinitionError {
                // The body has the document's shape; what it says does not make a saga.
                throw APIError(.unprocessableContent, code: "invalid-definition", message: error.problems.joined(separator: "; "))
            }
            var response = try ServiceHTTPServer.jsonResponse(.created, OrderView.DefinitionReference(name: definition.name, version: definition.version))
            response.headers[.location] = "/sagas/definitions/\(definition.name)/\(definition.version)"
            return response
        }
        routes.serve(OpenAPIDocument.document)
    }

    static func integer(_ text: String?, name: String, default value: Int, range: ClosedRange<Int>) throws -> Int {
        guard let text else { return value }
        guard let number = Int(text), range.contains(number) else {
            throw APIError.badRequest("\(name) must be a number in \(range.lowerBound)...\(range.upperBound == Int.max ? "" : String(range.upperBound))", code: "invalid-parameter")
        }
        return number
    }
}
