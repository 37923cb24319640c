import ServiceKit

extension ProfileService {
    /// The profile service's HTTP API, served at `/openapi.yaml`.
    public var document: APIDocument {
        APIDocument(
            title: "Ensemble profile service",
            summary: "Customers: who may order, their tier and addresses. Changes are published on profile.events.",
            port: 8085,
            paths: #"""
            /customers:
              get:
                summary: Every customer.
                responses:
                  "200": {description: The customers., content: {application/json: {schema: {type: array, items: {$ref: "#/components/schemas/Customer"}}}}}
              post:
                summary: Register a customer; publishes customer-registered.
                requestBody:
                  required: true
                  content:
                    application/json: {schema: {$ref: "#/components/schemas/NewCustomer"}}
                responses:
                  "201": {description: Registered., content: {application/json: {schema: {$ref: "#/components/schemas/Customer"}}}}
                  "409": {$ref: "#/components/responses/Error"}
            /customers/{id}:
              get:
                summary: One customer.
                parameters:
                  - {name: id, in: path, required: true, schema: {type: string}}
                responses:
                  "200": {description: The customer., content: {application/json: {schema: {$ref: "#/components/schemas/Customer"}}}}
                  "404": {$ref: "#/components/responses/Error"}
              put:
                summary: Change some of a customer's fields; publishes customer-updated naming them.
                parameters:
                  - {name: id, in: path, required: true, schema: {type: string}}
                requestBody:
                  required: true
                  content:
                    application/json: {schema: {$ref: "#/components/schemas/CustomerUpdate"}}
                responses:
                  "200": {description: The customer as it is now., content: {application/json: {schema: {$ref: "#/components/schemas/Customer"}}}}
                  "404": {$ref: "#/components/responses/Error"}
            """#,
            schemas: #"""
            Tier: {type: string, enum: [standard, premium]}
            Customer:
              type: object
              required: [id, name, email, tier, blocked, version]
              properties:
                id: {type: string}
                name: {type: string}
                email: {type: string}
                phone: {type: string}
                shippingAddress: {$ref: "#/components/schemas/Address"}
                billingAddress: {$ref: "#/components/schemas/Address"}
                tier: {$ref: "#/components/schemas/Tier"}
                blocked: {type: boolean}
                version: {type: integer}
            NewCustomer:
              type: object
              required: [id, name, email]
              properties:
                id: {type: string, minLength: 1, maxLength: 64, not: {pattern: "[ \\t\\r\\n/]"}, description: "No blanks or '/'."}
                name: {type: string, pattern: "[^ \\t\\r\\n]"}
                email: {type: string, pattern: "^[^@ ]+@[^@ ]*\\.[^@ ]*$"}
                phone: {type: [string, "null"]}
                shippingAddress: {oneOf: [{$ref: "#/components/schemas/Address"}, {type: "null"}]}
                billingAddress: {oneOf: [{$ref: "#/components/schemas/Address"}, {type: "null"}]}
                tier: {oneOf: [{$ref: "#/components/schemas/Tier"}, {type: "null"}], description: standard when left out.}
                blocked: {type: [boolean, "null"]}
                version: {type: [integer, "null"], minimum: -9223372036854775808, maximum: 9223372036854775807, description: Ignored; a new customer is version 1.}
            CustomerUpdate:
              type: object
              description: Only the fields given change.
              properties:
                name: {type: [string, "null"], pattern: "[^ \\t\\r\\n]"}
                email: {type: [string, "null"], pattern: "^[^@ ]+@[^@ ]*\\.[^@ ]*$"}
                phone: {type: [string, "null"]}
                shippingAddress: {oneOf: [{$ref: "#/components/schemas/Address"}, {type: "null"}]}
                billingAddress: {oneOf: [{$ref: "#/components/schemas/Address"}, {type: "null"}]}
                tier: {oneOf: [{$ref: "#/components/schemas/Tier"}, {type: "null"}]}
                blocked: {type: [boolean, "null"]}
            """#
        )
    }
}
