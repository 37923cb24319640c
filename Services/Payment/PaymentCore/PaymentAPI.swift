import ServiceKit

extension PaymentService {
    /// The payment service's HTTP API, served at `/openapi.yaml`. No route returns a card
    /// number: the vault's tokens and last four digits are all that leave the service.
    public var document: APIDocument {
        APIDocument(
            title: "Ensemble payment service",
            summary: "Authorizations, captures, voids and refunds with their ledger; customer limits; the two simulated processors.",
            port: 8082,
            paths: #"""
            /payments:
              get:
                summary: A customer's payments (newest 100), one order's, or with neither parameter the newest 100 of all; each with its ledger.
                parameters:
                  - {name: customerId, in: query, schema: {type: string}}
                  - {name: orderId, in: query, schema: {type: string}}
                responses:
                  "200": {description: The payments., content: {application/json: {schema: {type: array, items: {$ref: "#/components/schemas/PaymentView"}}}}}
            /processors:
              get:
                summary: Each simulated processor's injected faults.
                responses:
                  "200": {description: The processors., content: {application/json: {schema: {type: array, items: {$ref: "#/components/schemas/ProcessorFaults"}}}}}
            /processors/{name}:
              put:
                summary: Set a simulated processor's failure rate and latency (to see the breaker and the fallback at work).
                parameters:
                  - {name: name, in: path, required: true, schema: {type: string, enum: [primary, backup]}}
                requestBody:
                  required: true
                  content:
                    application/json:
                      schema:
                        type: object
                        required: [failureRate]
                        properties:
                          processor: {type: [string, "null"], enum: [primary, backup, null], description: Ignored (the path names the processor).}
                          failureRate: {type: number, minimum: 0, maximum: 1}
                          latencyMilliseconds: {type: [integer, "null"], minimum: 0, maximum: 60000}
                responses:
                  "200": {description: The processor's faults now., content: {application/json: {schema: {$ref: "#/components/schemas/ProcessorFaults"}}}}
                  "404": {$ref: "#/components/responses/Error"}
            /limits/{customer}:
              get:
                summary: The most a customer may have authorized at once (the configured default unless set).
                parameters:
                  - {name: customer, in: path, required: true, schema: {type: string}}
                responses:
                  "200": {description: The limit., content: {application/json: {schema: {$ref: "#/components/schemas/Limit"}}}}
              put:
                summary: Set a customer's limit.
                parameters:
                  - {name: customer, in: path, required: true, schema: {type: string}}
                requestBody:
                  required: true
                  content:
                    application/json: {schema: {$ref: "#/components/schemas/Limit"}}
                responses:
                  "200": {description: The limit now., content: {application/json: {schema: {$ref: "#/components/schemas/Limit"}}}}
            """#,
            schemas: #"""
            Limit:
              type: object
              required: [limit]
              properties:
                limit: {type: string, pattern: "^(0|[1-9][0-9]{0,14})(\\.[0-9]{1,2})?$", description: Not negative.}
            ProcessorFaults:
              type: object
              required: [failureRate]
              properties:
                processor: {type: string, enum: [primary, backup]}
                failureRate: {type: number}
                latencyMilliseconds: {type: integer}
            PaymentView:
              type: object
              required: [payment, ledger]
              properties:
                payment:
                  type: object
                  required: [orderId, customerId, amount, status]
                  properties:
                    orderId: {type: string}
                    customerId: {type: string}
                    amount: {$ref: "#/components/schemas/Money"}
                    status: {type: string, enum: [authorized, captured, voided, refunded, declined]}
                    processor: {type: string, enum: [primary, backup]}
                    authorizationId: {type: string}
                ledger:
                  type: array
                  items:
                    type: object
                    required: [entry, amount, at]
                    properties:
                      entry: {type: string}
                      amount: {$ref: "#/components/schemas/Money"}
                      processor: {type: string}
                      detail: {type: string}
                      at: {type: string, format: date-time}
            """#
        )
    }
}
