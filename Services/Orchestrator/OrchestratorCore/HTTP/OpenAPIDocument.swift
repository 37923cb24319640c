import ServiceKit

/// The orchestrator's HTTP API, served at `/openapi.yaml`. `OpenAPIDocumentTests` keeps it
/// true: every route the server registers is documented here and nothing else is.
enum OpenAPIDocument {
    static let document = APIDocument(
        title: "Ensemble orchestrator",
        summary: "Order intake and the checkout saga.",
        port: 8080,
        paths: #"""
        /orders:
          post:
            summary: Place an order; starts a checkout saga (orchestration) or announces it (choreography). 409 choreography-off when a choreographed order meets CHOREOGRAPHY=off.
            parameters:
              - name: Idempotency-Key
                in: header
                required: false
                description: The same key again returns the first order and starts nothing.
                schema: {type: string, minLength: 1, maxLength: 200}
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
              - {name: offset, in: query, schema: {type: integer, minimum: 0, maximum: 1000000000, default: 0}}
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
              "422": {description: "The definition has the document's shape but does not make a saga: an unknown participant or command, a missing compensation, a step after the pivot with a fallback, ...; the message lists every problem.", content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}}
        /sagas/definitions/{name}/{version}:
          get:
            summary: One definition, as JSON or as a Mermaid flowchart.
            parameters:
              - {name: name, in: path, required: true, schema: {type: string}}
              - {name: version, in: path, required: true, schema: {type: integer, minimum: 1, maximum: 9223372036854775807}}
              - {name: format, in: query, schema: {type: string, enum: [json, mermaid], default: json}}
            responses:
              "200":
                description: The definition.
                content:
                  application/json: {schema: {$ref: "#/components/schemas/SagaDefinition"}}
                  text/vnd.mermaid: {schema: {type: string}}
              "400": {$ref: "#/components/responses/Error"}
              "404": {$ref: "#/components/responses/Error"}
        """#,
        schemas: #"""
        SagaStatus: {type: string, enum: [running, compensating, completed, compensated, failed, needs-attention]}
        OrderRequest:
          type: object
          required: [customerId, items, payment, shipTo]
          properties:
            customerId: {type: string, pattern: "[^ \\t\\r\\n]", description: Not blank.}
            items:
              type: array
              minItems: 1
              maxItems: 100
              items:
                type: object
                required: [sku, quantity, unitPrice]
                properties:
                  sku: {type: string, pattern: "[^ \\t\\r\\n]"}
                  quantity: {type: integer, minimum: 1, maximum: 1000}
                  unitPrice: {type: string, pattern: "^([1-9][0-9]{0,4}(\\.[0-9]{1,2})?|0\\.(0[1-9]|[1-9][0-9]?))$", description: "An amount (see Money) from 0.01 to 99999.99.", examples: ["12.50"]}
            payment:
              type: object
              required: [card]
              properties:
                card: {type: string, pattern: "^ *([0-9] *){12,19}$", description: "12 to 19 digits (spaces allowed); 4000000000000002 is always declined. Sealed for the payment service's vault at intake: only its last four digits are kept anywhere else.", examples: ["4111 1111 1111 1111"]}
                billingName: {type: [string, "null"], maxLength: 200}
                billingPhone: {type: [string, "null"], maxLength: 40}
            shipTo: {$ref: "#/components/schemas/Address"}
            mode: {oneOf: [{$ref: "#/components/schemas/CheckoutMode"}, {type: "null"}]}
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
            version: {type: integer, minimum: 1, maximum: 9223372036854775807}
            description: {type: [string, "null"]}
            pivot: {type: [string, "null"], description: The id of the point-of-no-return step; steps after it are retried until they succeed.}
            stuckAfterSeconds: {type: [integer, "null"], minimum: 1, maximum: 9223372036854775807}
            stages: {type: array, minItems: 1, items: {$ref: "#/components/schemas/Stage"}}
        Stage:
          type: object
          description: Exactly one of step, parallel, decide.
          minProperties: 1
          maxProperties: 1
          additionalProperties: false
          properties:
            step: {$ref: "#/components/schemas/Step"}
            parallel: {type: array, minItems: 1, items: {$ref: "#/components/schemas/Step"}}
            decide: {$ref: "#/components/schemas/Decision"}
        Step:
          type: object
          required: [id, participant, command]
          properties:
            id: {type: string, minLength: 1}
            participant: {type: string}
            command: {type: string}
            compensation: {type: [string, "null"]}
            retry: {oneOf: [{$ref: "#/components/schemas/RetryPolicy"}, {type: "null"}]}
            timeoutMilliseconds: {type: [integer, "null"], minimum: 1, maximum: 9223372036854775807}
            when: {oneOf: [{$ref: "#/components/schemas/Predicate"}, {type: "null"}]}
            fallback: {oneOf: [{$ref: "#/components/schemas/Fallback"}, {type: "null"}]}
            route: {type: [string, "null"]}
            breaker: {oneOf: [{$ref: "#/components/schemas/BreakerPolicy"}, {type: "null"}]}
        Decision:
          type: object
          required: [id, when, then]
          properties:
            id: {type: string}
            when: {$ref: "#/components/schemas/Predicate"}
            then: {type: object, additionalProperties: {$ref: "#/components/schemas/SettableValue"}}
            otherwise: {type: [object, "null"], additionalProperties: {$ref: "#/components/schemas/SettableValue"}}
        Fallback:
          type: object
          required: [set]
          properties:
            set: {type: object, minProperties: 1, additionalProperties: {$ref: "#/components/schemas/SettableValue"}}
            retry: {oneOf: [{$ref: "#/components/schemas/RetryPolicy"}, {type: "null"}]}
            route: {type: [string, "null"]}
            breaker: {oneOf: [{$ref: "#/components/schemas/BreakerPolicy"}, {type: "null"}]}
        RetryPolicy:
          type: object
          required: [initialBackoffMilliseconds]
          properties:
            attempts: {type: [integer, "null"], minimum: 1, maximum: 9223372036854775807}
            initialBackoffMilliseconds: {type: integer, minimum: -9223372036854775808, maximum: 9223372036854775807}
            multiplier: {type: [number, "null"]}
            maxBackoffMilliseconds: {type: [integer, "null"], minimum: -9223372036854775808, maximum: 9223372036854775807}
        BreakerPolicy:
          type: object
          properties:
            threshold: {type: [integer, "null"], minimum: 1, maximum: 9223372036854775807}
            openSeconds: {type: [number, "null"], exclusiveMinimum: 0}
            halfOpenTrials: {type: [integer, "null"], minimum: 1, maximum: 9223372036854775807}
        Predicate:
          type: object
          description: Exactly one of all, any, not, equals, greaterThan, lessThan, exists.
          minProperties: 1
          maxProperties: 1
          additionalProperties: false
          properties:
            all: {type: array, items: {$ref: "#/components/schemas/Predicate"}}
            any: {type: array, items: {$ref: "#/components/schemas/Predicate"}}
            not: {$ref: "#/components/schemas/Predicate"}
            equals: {$ref: "#/components/schemas/Comparison"}
            greaterThan: {$ref: "#/components/schemas/Comparison"}
            lessThan: {$ref: "#/components/schemas/Comparison"}
            exists: {type: string}
        SettableValue:
          description: What a decision or a fallback sets at a saga data path, and what a condition compares with (amounts as strings, "100.00").
          type: [string, boolean, "null", integer]
          minimum: -1000000000000000
          maximum: 1000000000000000
        Comparison:
          type: object
          required: [path, value]
          properties:
            path: {type: string}
            value: {$ref: "#/components/schemas/SettableValue"}
        """#
    )
}
