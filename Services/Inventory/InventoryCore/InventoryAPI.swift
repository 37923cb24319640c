import ServiceKit

extension InventoryService {
    /// The inventory service's HTTP API, served at `/openapi.yaml`.
    public var document: APIDocument {
        APIDocument(
            title: "Ensemble inventory service",
            summary: "Stock per SKU and the reservations orders hold. Changes are published on inventory.events.",
            port: 8083,
            paths: #"""
            /stock:
              get:
                summary: Every SKU's stock.
                responses:
                  "200": {description: The stock levels., content: {application/json: {schema: {type: array, items: {$ref: "#/components/schemas/StockLevel"}}}}}
            /stock/{sku}:
              get:
                summary: One SKU's stock.
                parameters:
                  - {name: sku, in: path, required: true, schema: {type: string}}
                responses:
                  "200": {description: The stock level., content: {application/json: {schema: {$ref: "#/components/schemas/StockLevel"}}}}
                  "404": {$ref: "#/components/responses/Error"}
              put:
                summary: Set a SKU's stock on hand (creating the SKU); publishes stock-level-set.
                parameters:
                  - {name: sku, in: path, required: true, schema: {type: string, minLength: 1, maxLength: 64}}
                requestBody:
                  required: true
                  content:
                    application/json:
                      schema:
                        type: object
                        required: [onHand]
                        properties:
                          onHand: {type: integer, minimum: 0, maximum: 9223372036854775807}
                responses:
                  "200": {description: The stock level now., content: {application/json: {schema: {$ref: "#/components/schemas/StockLevel"}}}}
                  "409": {description: More than onHand is reserved., content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}}
            /reservations:
              get:
                summary: An order's reservations.
                parameters:
                  - {name: orderId, in: query, required: true, schema: {type: string, minLength: 1}}
                responses:
                  "200": {description: The reservations., content: {application/json: {schema: {type: array, items: {$ref: "#/components/schemas/Reservation"}}}}}
                  "400": {$ref: "#/components/responses/Error"}
            """#,
            schemas: #"""
            StockLevel:
              type: object
              required: [sku, onHand, reserved, available]
              properties:
                sku: {type: string}
                onHand: {type: integer}
                reserved: {type: integer}
                available: {type: integer}
            Reservation:
              type: object
              required: [orderId, sku, quantity, status]
              properties:
                orderId: {type: string}
                sku: {type: string}
                quantity: {type: integer}
                status: {type: string, enum: [reserved, committed, released]}
            """#
        )
    }
}
