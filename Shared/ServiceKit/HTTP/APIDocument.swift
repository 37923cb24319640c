import Foundation
import Hummingbird
import Synchronization
import Yams

/// A service's OpenAPI 3.1 document, served at `/openapi.yaml`. The service writes what
/// only it knows: its paths and schemas, in YAML. `render(_:)` completes the document from
/// the routes the service registered, so that what is declared and what is enforced come
/// from one place: each operation's security requirement (the scope its route needs, or
/// none), the 401 and 403 a protected route can answer, the 400 and 413 of a route that
/// reads a body, the routes every service has (`/health/*`, `/metrics`, this document,
/// `/admin/stop` where it exists), the bearer scheme and the error shape.
public struct APIDocument: Sendable {
    public let title: String
    public let summary: String
    public let port: Int
    /// The service's own paths: a YAML mapping, as under `paths:`.
    public let paths: String
    /// Its schemas: a YAML mapping, as under `components.schemas:` (may be empty).
    public let schemas: String

    public init(title: String, summary: String, port: Int, paths: String, schemas: String = "") {
        self.title = title
        self.summary = summary
        self.port = port
        self.paths = paths
        self.schemas = schemas
    }

    /// The document for a server whose routes are `routes`. Throws when the service's YAML
    /// does not parse (the documents' tests render every service's).
    public func render(_ routes: [ServiceRoutes.Entry]) throws -> String {
        var paths = try Self.mapping(self.paths, "paths")
        let common = try Self.mapping(Self.commonPaths, "common paths")
        for route in routes {
            let path = Self.documentPath(route.path)
            let method = route.method.rawValue.lowercased()
            var item = paths[path] as? [String: Any] ?? [:]
            guard var operation = item[method] as? [String: Any] ?? (common[path] as? [String: Any])?[method] as? [String: Any] else {
                // Undocumented: left out, and the documents' tests name it.
                continue
            }
            var responses = operation["responses"] as? [String: Any] ?? [:]
            if let scope = route.scope {
                operation["security"] = [["bearer": [scope.rawValue]]]
                responses["401"] = responses["401"] ?? ["$ref": "#/components/responses/Unauthorized"]
                responses["403"] = responses["403"] ?? ["$ref": "#/components/responses/Forbidden"]
                let description = operation["description"] as? String
                operation["description"] = [description, "Needs a bearer token with the scope `\(scope.rawValue)`."].compactMap { $0 }.joined(separator: " ")
            } else {
                operation["security"] = [[String: Any]]()
            }
            if operation["requestBody"] != nil {
                responses["400"] = responses["400"] ?? ["$ref": "#/components/responses/Error"]
                responses["413"] = responses["413"] ?? ["$ref": "#/components/responses/Error"]
            }
            operation["responses"] = responses
            item[method] = operation
            paths[path] = item
        }
        var schemas = try Self.mapping(self.schemas, "schemas")
        schemas.merge(try Self.mapping(Self.commonSchemas, "common schemas")) { own, _ in own }
        let document: [String: Any] = [
            "openapi": "3.1.0",
            "info": ["title": title, "version": "1", "description": summary + " " + Self.conventions],
            "servers": [["url": "http://127.0.0.1:\(port)"]],
            "paths": paths,
            "components": [
                "securitySchemes": ["bearer": ["type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                                               "description": "A token from `ensemble token --scopes ...` (HS256, the stack's AUTH_JWT_SECRET); each operation names the scope it needs."]],
                "responses": try Self.mapping(Self.commonResponses, "common responses"),
                "schemas": schemas,
            ],
        ]
        return try Yams.dump(object: document, width: -1, sortKeys: true)
    }

    /// Where the document and the routes disagree, one line each: a route served but not
    /// documented, an operation documented but not served. Empty when they agree.
    public func mismatches(_ routes: [ServiceRoutes.Entry]) throws -> [String] {
        let own = try Self.mapping(paths, "paths")
        let common = try Self.mapping(Self.commonPaths, "common paths")
        let served = Set(routes.map { "\($0.method.rawValue.lowercased()) \(Self.documentPath($0.path))" })
        var documented: Set<String> = []
        for (path, item) in own {
            for method in (item as? [String: Any] ?? [:]).keys where Self.methods.contains(method) { documented.insert("\(method) \(path)") }
        }
        var problems = served.subtracting(documented).filter { operation in
            let parts = operation.split(separator: " ").map(String.init)
            return (common[parts[1]] as? [String: Any])?[parts[0]] == nil
        }.map { "\($0) is served but not documented" }
        problems += documented.subtracting(served).map { "\($0) is documented but not served" }
        return problems.sorted()
    }

    static let methods: Set<String> = ["get", "put", "post", "delete", "patch", "head", "options"]

    /// `stock/:sku` → `/stock/{sku}`.
    public static func documentPath(_ routePath: String) -> String {
        "/" + routePath.split(separator: "/").map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }.joined(separator: "/")
    }

    private static func mapping(_ yaml: String, _ part: String) throws -> [String: Any] {
        if yaml.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { return [:] }
        guard let value = try Yams.load(yaml: yaml) as? [String: Any] else {
            throw ServiceKitError(code: .invalidConfiguration, message: "the OpenAPI \(part) are not a YAML mapping")
        }
        return value
    }

    static let conventions = "Errors are JSON: {\"error\": {\"code\": ..., \"message\": ...}}. A method a path does not have is a 405 with Allow; a body over 1 MiB is a 413."

    static let commonPaths = #"""
    /openapi.yaml:
      get:
        summary: This document.
        responses:
          "200": {description: OpenAPI 3.1., content: {application/yaml: {schema: {type: string}}}}
    /health/live:
      get:
        summary: The process answers.
        responses:
          "200": {description: Live., content: {application/json: {schema: {type: object}}}}
    /health/ready:
      get:
        summary: Ready when the service's consumers own their partitions and its database answers.
        responses:
          "200": {description: Ready., content: {application/json: {schema: {$ref: "#/components/schemas/Readiness"}}}}
          "503": {description: Not ready; the checks say why., content: {application/json: {schema: {$ref: "#/components/schemas/Readiness"}}}}
    /metrics:
      get:
        summary: Prometheus metrics (open unless AUTH_METRICS=protected).
        responses:
          "200": {description: Text exposition format., content: {text/plain: {schema: {type: string}}}}
    /admin/stop:
      post:
        summary: Stop this service (consumers, relay, HTTP server) for some seconds; its supervisor starts it again.
        parameters:
          - {name: seconds, in: query, schema: {type: integer, minimum: 1, maximum: 60, default: 5}}
        responses:
          "202": {description: Stopping., content: {application/json: {schema: {type: object, required: [service, seconds], properties: {service: {type: string}, seconds: {type: integer}}}}}}
          "400": {$ref: "#/components/responses/Error"}
    """#

    static let commonResponses = #"""
    Error:
      description: An error.
      content:
        application/json:
          schema: {$ref: "#/components/schemas/Error"}
    Unauthorized:
      description: No bearer token, or one that is invalid or expired.
      headers:
        WWW-Authenticate: {schema: {type: string}}
      content:
        application/json:
          schema: {$ref: "#/components/schemas/Error"}
    Forbidden:
      description: The token lacks the operation's scope; the message names it.
      content:
        application/json:
          schema: {$ref: "#/components/schemas/Error"}
    """#

    static let commonSchemas = #"""
    Error:
      type: object
      required: [error]
      properties:
        error:
          type: object
          required: [code, message]
          properties:
            code: {type: string}
            message: {type: string}
    Money: {type: string, pattern: "^-?(0|[1-9][0-9]{0,14})(\\.[0-9]{1,2})?$", description: "An amount in the currency's major unit with at most two decimals, no leading zeros.", examples: ["12.50"]}
    Address:
      type: object
      required: [name, line1, city, postalCode, country]
      properties:
        name: {type: string, pattern: "[^ \\t\\r\\n]", description: Not blank.}
        line1: {type: string, pattern: "[^ \\t\\r\\n]"}
        line2: {type: [string, "null"]}
        city: {type: string, pattern: "[^ \\t\\r\\n]"}
        postalCode: {type: string, pattern: "[^ \\t\\r\\n]"}
        country: {type: string, minLength: 2, maxLength: 2, pattern: "^[A-Za-z]{2}$", description: Two letters.}
    Readiness:
      type: object
      required: [status, checks]
      properties:
        status: {type: string, enum: [ready, not-ready]}
        checks: {type: object}
    """#
}

extension ServiceRoutes {
    /// Serves `document` at `/openapi.yaml` (open), completed from the routes registered by
    /// the time it is first asked for.
    public func serve(_ document: APIDocument) {
        let rendered = RenderedDocument()
        let entries = self.entries
        get("openapi.yaml", scope: nil) { _, _ -> Response in
            let text = try rendered.text { try document.render(entries.list.withLock { $0 }) }
            return Response(status: .ok, headers: [.contentType: "application/yaml; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: text)))
        }
    }
}

/// The rendered document, made once.
private final class RenderedDocument: Sendable {
    private let cached = Mutex<String?>(nil)

    func text(_ render: () throws -> String) throws -> String {
        try cached.withLock { text in
            if let text { return text }
            let made = try render()
            text = made
            return made
        }
    }
}
