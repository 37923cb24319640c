/// The orchestrator's HTTP API, served at `/openapi.yaml`. `OpenAPIDocumentTests` keeps it
/// true: every route the server registers is documented here and nothing else is.
enum OpenAPIDocument {
    static let yaml = #"""
    openapi: 3.1.0
    info:
      title: Ensemble orchestrator
      version: "1"
      description: "Order intake and the checkout saga. Errors are JSON: {\"error\": {\"code\": ..., \"message\": ...}}."
    servers:
      - url: http://127.0.0.1:8080
    paths:
      /orders:
        post:
          summary: Place an order; starts a checkout saga (orchestration) or announces it (choreography). 409 choreography-off when a choreographed order meets CHOREOGRAPHY=off.
          parameters:
            - name: Idempotency-Key
              in: header
              required: false
              description: The same key again returns the first order and starts nothing.
              schema: {type: string, maxLength: 200}
          requestBody:
            required: true
            content:
              application/json:
                schema: {$ref: "#/components/schemas/OrderRequest"}
          responses:
            "202": {description: Accepted; the checkout runs., headers: {Location: {schema: {type: string}}}, content: {application/json: {schema: {$ref: "#/components/schemas/OrderAccepted"}}}}
            "200": {description: The Idempotency-Key was seen before; this is its order., content: {application/json: {schema: {$ref: "#/components/schemas/OrderAccepted"}}}}
            "400": {$ref: "#/components/responses/Error"}
            "409": {$ref: "#/components/responses/Error"}
        get:
          summary: A page of orders, newest first.
          parameters:
            - {name: status, in: query, schema: {$ref: "#/components/schemas/SagaStatus"}}
            - {name: customer, in: query, schema: {type: string}}
            - {name: limit, in: query, schema: {type: integer, minimum: 1, maximum: 500, default: 50}}
            - {name: offset, in: query, schema: {type: integer, minimum: 0, default: 0}}
          responses:
            "200": {description: A page., content: {application/json: {schema: {$ref: "#/components/schemas/OrderPage"}}}}
            "400": {$ref: "#/components/responses/Error"}
      /orders/{id}:
        get:
          summary: An order's status and timeline; `mode` tells which of the two shapes it is.
          parameters:
            - {name: id, in: path, required: true, schema: {type: string}}
          responses:
            "200":
              description: The order.
              content:
                application/json:
                  schema:
                    oneOf:
                      - {$ref: "#/components/schemas/OrderView"}
                      - {$ref: "#/components/schemas/ChoreographedOrderView"}
            "404": {$ref: "#/components/responses/Error"}
      /choreography:
        get:
          summary: The choreographed checkout's flow, derived from the reactions the participants declare.
          parameters:
            - {name: format, in: query, schema: {type: string, enum: [json, mermaid], default: json}}
          responses:
            "200":
              description: The flow.
              content:
                application/json: {schema: {type: object, description: "services (subscriptions and reactions), tracker, deadlineOwner, shippingRuleLives, edges"}}
                text/vnd.mermaid: {schema: {type: string}}
            "400": {$ref: "#/components/responses/Error"}
      /orders/{id}/retry:
        post:
          summary: Drive an order that needs attention again (after its cause was fixed).
          parameters:
            - {name: id, in: path, required: true, schema: {type: string}}
          responses:
            "202": {description: The order, moving again., content: {application/json: {schema: {$ref: "#/components/schemas/OrderView"}}}}
            "404": {$ref: "#/components/responses/Error"}
            "409": {$ref: "#/components/responses/Error"}
      /breakers:
        get:
          summary: Every route's circuit breaker, shared by all orchestrators on the database.
          responses:
            "200": {description: The breakers., content: {application/json: {schema: {type: array, items: {$ref: "#/components/schemas/Breaker"}}}}}
      /sagas/definitions:
        get:
          summary: The saga definitions loaded, every version.
          responses:
            "200": {description: Names and versions., content: {application/json: {schema: {type: array, items: {$ref: "#/components/schemas/DefinitionReference"}}}}}
        post:
          summary: Import a new version of a saga definition; new sagas use the newest version.
          requestBody:
            required: true
            content:
              application/json:
                schema: {$ref: "#/components/schemas/SagaDefinition"}
          responses:
            "201": {description: Imported., content: {application/json: {schema: {$ref: "#/components/schemas/DefinitionReference"}}}}
            "400": {$ref: "#/components/responses/Error"}
            "409": {$ref: "#/components/responses/Error"}
      /sagas/definitions/{name}/{version}:
        get:
          summary: One definition, as JSON or as a Mermaid flowchart.
          parameters:
            - {name: name, in: path, required: true, schema: {type: string}}
            - {name: version, in: path, required: true, schema: {type: integer}}
            - {name: format, in: query, schema: {type: string, enum: [json, mermaid], default: json}}
          responses:
            "200":
              description: The definition.
              content:
                application/json: {schema: {$ref: "#/components/schemas/SagaDefinition"}}
                text/vnd.mermaid: {schema: {type: string}}
            "404": {$ref: "#/components/responses/Error"}
      /openapi.yaml:
        get:
          summary: This document.
          responses:
            "200": {description: OpenAPI 3.1, content: {application/yaml: {schema: {type: string}}}}
      /health/live:
        get:
          summary: The process answers.
          responses:
            "200": {description: Live.}
      /health/ready:
        get:
          summary: Ready when the reply consumer owns its partitions.
          responses:
            "200": {description: Ready.}
            "503": {description: Not ready; the checks say why.}
      /metrics:
        get:
          summary: Prometheus metrics.
          responses:
            "200": {description: Text exposition format., content: {text/plain: {schema: {type: string}}}}
    components:
      responses:
        Error:
          description: An error.
          content:
            application/json:
              schema:
                type: object
                required: [error]
                properties:
                  error:
                    type: object
                    required: [code, message]
                    properties:
                      code: {type: string}
                      message: {type: string}
      schemas:
        Money: {type: string, pattern: "^-?[0-9]+(\\.[0-9]{1,2})?$", examples: ["12.50"]}
        SagaStatus: {type: string, enum: [running, compensating, completed, compensated, failed, needs-attention]}
        Address:
          type: object
          required: [name, line1, city, postalCode, country]
          properties:
            name: {type: string}
            line1: {type: string}
            line2: {type: string}
            city: {type: string}
            postalCode: {type: string}
            country: {type: string, minLength: 2, maxLength: 2}
        OrderRequest:
          type: object
          required: [customerId, items, payment, shipTo]
          properties:
            customerId: {type: string}
            items:
              type: array
              minItems: 1
              maxItems: 100
              items:
                type: object
                required: [sku, quantity, unitPrice]
                properties:
                  sku: {type: string}
                  quantity: {type: integer, minimum: 1, maximum: 1000}
                  unitPrice: {$ref: "#/components/schemas/Money"}
            payment:
              type: object
              required: [card]
              properties:
                card: {type: string, description: 12 to 19 digits; 4000000000000002 is always declined}
            shipTo: {$ref: "#/components/schemas/Address"}
            mode: {$ref: "#/components/schemas/CheckoutMode"}
        CheckoutMode: {type: string, enum: [orchestration, choreography], description: "Left out: the orchestrator's ORDER_MODE (orchestration unless set)."}
        OrderAccepted:
          type: object
          required: [orderId, status, url]
          properties:
            orderId: {type: string}
            status: {type: string}
            mode: {$ref: "#/components/schemas/CheckoutMode"}
            url: {type: string}
            consistencyToken: {type: string, description: For the aggregator's ?after= (read your own writes).}
        OrderSummary:
          type: object
          required: [orderId, status, customerId, createdAt]
          properties:
            orderId: {type: string}
            status: {$ref: "#/components/schemas/SagaStatus"}
            customerId: {type: string}
            total: {$ref: "#/components/schemas/Money"}
            createdAt: {type: string, format: date-time}
            finishedAt: {type: string, format: date-time}
        OrderPage:
          type: object
          required: [orders, limit, offset]
          properties:
            orders: {type: array, items: {$ref: "#/components/schemas/OrderSummary"}}
            limit: {type: integer}
            offset: {type: integer}
            nextOffset: {type: integer}
        ChoreographedOrderView:
          type: object
          required: [orderId, mode, status, customerId, total, awaiting, createdAt, timeline]
          properties:
            orderId: {type: string}
            mode: {type: string, enum: [choreography]}
            status: {type: string, enum: [running, compensating, completed, compensated, failed]}
            customerId: {type: string}
            total: {$ref: "#/components/schemas/Money"}
            failure: {type: string}
            awaiting: {type: array, items: {type: string}, description: Services whose compensation the order still waits for.}
            createdAt: {type: string, format: date-time}
            finishedAt: {type: string, format: date-time}
            timeline:
              type: array
              items:
                type: object
                required: [at, source, event]
                properties:
                  at: {type: string, format: date-time}
                  source: {type: string}
                  event: {type: string}
                  detail: {type: string}
        OrderView:
          type: object
          required: [orderId, mode, status, customerId, definition, createdAt, steps, history]
          properties:
            orderId: {type: string}
            mode: {type: string, enum: [orchestration]}
            status: {$ref: "#/components/schemas/SagaStatus"}
            customerId: {type: string}
            total: {$ref: "#/components/schemas/Money"}
            definition: {$ref: "#/components/schemas/DefinitionReference"}
            failure: {type: string}
            attention: {type: array, items: {type: string}, description: What is left to do when the order needs attention.}
            createdAt: {type: string, format: date-time}
            finishedAt: {type: string, format: date-time}
            steps:
              type: array
              items:
                type: object
                required: [id, participant, command, status, attempts]
                properties:
                  id: {type: string}
                  participant: {type: string}
                  command: {type: string}
                  status: {type: string, enum: [pending, running, waitingRetry, succeeded, failed, skipped, compensating, compensated, compensationFailed]}
                  attempts:
                    type: array
                    items:
                      type: object
                      required: [number, command, fallback, sentAt]
                      properties:
                        number: {type: integer}
                        messageID: {type: string, format: uuid}
                        command: {type: string}
                        fallback: {type: boolean}
                        sentAt: {type: string, format: date-time}
                        finishedAt: {type: string, format: date-time}
                        result: {type: string}
                  startedAt: {type: string, format: date-time}
                  finishedAt: {type: string, format: date-time}
                  outcome: {type: string}
            history:
              type: array
              items:
                type: object
                required: [at, event]
                properties:
                  at: {type: string, format: date-time}
                  step: {type: string}
                  event: {type: string, enum: [\#(SagaEvent.Kind.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", "))]}
                  detail: {type: string}
        Breaker:
          type: object
          required: [route, state, failures, policy]
          properties:
            route: {type: string}
            state: {type: string, enum: [closed, open, half-open]}
            failures: {type: integer}
            openedAt: {type: string, format: date-time}
            nextTrialAt: {type: string, format: date-time}
            changedAt: {type: string, format: date-time}
            policy:
              type: object
              required: [threshold, openSeconds, halfOpenTrials]
              properties:
                threshold: {type: integer, minimum: 1}
                openSeconds: {type: number}
                halfOpenTrials: {type: integer, minimum: 1}
        DefinitionReference:
          type: object
          required: [name, version]
          properties:
            name: {type: string}
            version: {type: integer}
        SagaDefinition:
          type: object
          required: [name, version, stages]
          description: See Docs/orchestrator.md for stages (step, parallel, decide), predicates, retry and fallback.
          properties:
            name: {type: string}
            version: {type: integer, minimum: 1}
            description: {type: string}
            pivot: {type: string, description: The id of the point-of-no-return step; steps after it are retried until they succeed.}
            stuckAfterSeconds: {type: integer, minimum: 1}
            stages: {type: array, items: {type: object}}
    """#
}
