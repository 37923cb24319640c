import ServiceKit

extension ShippingService {
    /// The shipping service's HTTP API, served at `/openapi.yaml`.
    public var document: APIDocument {
        APIDocument(
            title: "Ensemble shipping service",
            summary: "Shipments, and the join that schedules a choreographed order once stock and payment are both in.",
            port: 8084,
            paths: #"""
            /shipments:
              get:
                summary: An order's shipment (none, or one).
                parameters:
                  - {name: orderId, in: query, required: true, schema: {type: string, minLength: 1}}
                responses:
                  "200": {description: The shipments., content: {application/json: {schema: {type: array, items: {$ref: "#/components/schemas/Shipment"}}}}}
                  "400": {$ref: "#/components/responses/Error"}
            /joins/{order}:
              get:
                summary: A choreographed order's join (what shipping still waits for, and until when).
                parameters:
                  - {name: order, in: path, required: true, schema: {type: string}}
                responses:
                  "200": {description: The join., content: {application/json: {schema: {$ref: "#/components/schemas/Join"}}}}
                  "404": {$ref: "#/components/responses/Error"}
            """#,
            schemas: #"""
            Shipment:
              type: object
              required: [orderId, carrier, trackingNumber, labelReference, fee, priority, status, shipTo]
              properties:
                orderId: {type: string}
                carrier: {type: string}
                trackingNumber: {type: string}
                labelReference: {type: string}
                fee: {$ref: "#/components/schemas/Money"}
                priority: {type: boolean}
                status: {type: string}
                shipTo: {$ref: "#/components/schemas/Address"}
            Join:
              type: object
              required: [orderId, state, deadline, waitingFor]
              properties:
                orderId: {type: string}
                state: {type: string, enum: [waiting, scheduled, closed, refused]}
                deadline: {type: string}
                waitingFor: {type: array, items: {type: string}}
                reason: {type: string}
            """#
        )
    }
}
