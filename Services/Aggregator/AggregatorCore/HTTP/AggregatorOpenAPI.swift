import ServiceKit

/// The aggregator's HTTP API, served at `/openapi.yaml`. A test keeps it true: every route
/// the server registers is documented here and nothing else is.
enum AggregatorOpenAPI {
    static let document = APIDocument(
        title: "Ensemble aggregator",
        summary: "Read models built from every service's events. Reads are throttled per X-Client-Id (429 with Retry-After).",
        port: 8081,
        paths: #"""
        /profiles/{id}:
          get:
            summary: A customer's merged profile with provenance, conflicts and freshness.
            parameters:
              - {name: id, in: path, required: true, schema: {type: string}}
              - {name: fields, in: query, description: "Comma-separated profile fields to return (customerId always).", schema: {type: string, pattern: "^,*((customerId|contact|tier|blocked|shippingAddress|addresses|billing|orders|money|shipments|orderCounts|conflicts|lastEventAt)(,+(customerId|contact|tier|blocked|shippingAddress|addresses|billing|orders|money|shipments|orderCounts|conflicts|lastEventAt))*)?,*$"}}
              - {name: mode, in: query, schema: {type: string, enum: [projection, live], default: projection}}
              - {name: maxStaleness, in: query, description: "e.g. 250ms or 2s (a bare number is milliseconds): answer live when the projection is staler.", schema: {type: string, pattern: "^[0-9]{1,9}(\\.[0-9]{1,3})?(ms|s)?$"}}
              - {name: require, in: query, description: "Comma-separated live sources without which the answer is refused (503).", schema: {type: string, pattern: "^,*((profile|orchestrator|payment|shipping)(,+(profile|orchestrator|payment|shipping))*)?,*$"}}
              - {name: after, in: query, description: "A consistency token from the orchestrator: wait (up to 2 s, then 503) until the projection has applied it.", schema: {type: string, pattern: "^v1\\.(placed|finished)\\.[\\s\\S]+$", examples: ["v1.placed.ord_4f2a9c1b7d3e5a6b8c9d"]}}
              - {name: X-Client-Id, in: header, schema: {type: string}}
            responses:
              "200": {description: The profile., headers: {Age: {schema: {type: integer}}}, content: {application/json: {schema: {$ref: "#/components/schemas/ProfileResponse"}}}}
              "400": {$ref: "#/components/responses/Error"}
              "404": {$ref: "#/components/responses/Error"}
              "429": {$ref: "#/components/responses/Error"}
              "503": {$ref: "#/components/responses/Error"}
        /profiles:
          get:
            summary: Profiles, by customer id.
            parameters:
              - {name: tier, in: query, schema: {type: string, enum: [standard, premium]}}
              - {name: limit, in: query, schema: {type: integer, minimum: 1, maximum: 500, default: 50}}
              - {name: offset, in: query, schema: {type: integer, minimum: 0, maximum: 1000000000, default: 0}}
            responses:
              "200": {description: A page of profiles., content: {application/json: {schema: {type: object}}}}
              "400": {$ref: "#/components/responses/Error"}
              "429": {$ref: "#/components/responses/Error"}
        /profiles/{id}/stream:
          get:
            summary: Server-Sent Events; a `profile` event with the profile each time an event changes it.
            parameters:
              - {name: id, in: path, required: true, schema: {type: string}}
            responses:
              "200": {description: An event stream., content: {text/event-stream: {schema: {type: string}}}}
        /orders/{id}/view:
          get:
            summary: An order's status and the timeline of every event about it.
            parameters:
              - {name: id, in: path, required: true, schema: {type: string}}
            responses:
              "200": {description: The order view., content: {application/json: {schema: {type: object}}}}
              "404": {$ref: "#/components/responses/Error"}
        /products/{sku}:
          get:
            summary: One SKU's stock and sales.
            parameters:
              - {name: sku, in: path, required: true, schema: {type: string}}
            responses:
              "200": {description: The product view., content: {application/json: {schema: {type: object}}}}
              "404": {$ref: "#/components/responses/Error"}
        /dashboard:
          get:
            summary: Orders per minute, outcomes, revenue, top and low-stock SKUs, processor share.
            responses:
              "200": {description: The dashboard., content: {application/json: {schema: {type: object}}}}
        /rules:
          get:
            summary: The merge rules in force (for each field, the sources in order of precedence).
            responses:
              "200": {description: The rules., content: {application/json: {schema: {type: object}}}}
        /admin/rebuild:
          get:
            summary: The progress of the last rebuild.
            responses:
              "200": {description: Progress., content: {application/json: {schema: {$ref: "#/components/schemas/RebuildProgress"}}}}
          post:
            summary: Replay every topic from the start into fresh tables, swapped in when caught up.
            responses:
              "202": {description: Started., content: {application/json: {schema: {$ref: "#/components/schemas/RebuildProgress"}}}}
              "409": {$ref: "#/components/responses/Error"}
        /admin/lag:
          get:
            summary: Projection lag (event occurred-at to applied) over the last 10,000 events.
            responses:
              "200": {description: Percentiles., content: {application/json: {schema: {type: object}}}}
        /admin/lag/reset:
          post:
            summary: Forget the lag samples (the benchmark starts from zero).
            responses:
              "204": {description: Reset.}
        """#,
        schemas: #"""
        ProfileResponse:
          type: object
          required: [mode, complete, profile]
          properties:
            mode: {type: string, enum: [projection, live]}
            complete: {type: boolean}
            profile: {type: object}
            freshness: {type: object}
            sources: {type: object, description: "Live mode: each source's status (ok, timeout, error, circuit-open) and latency."}
            cacheAgeMilliseconds: {type: number}
        RebuildProgress:
          type: object
          required: [state, applied]
          properties:
            state: {type: string, enum: [idle, running, swapping, done, failed]}
            applied: {type: integer}
            total: {type: integer}
            eventsPerSecond: {type: number}
            secondsLeft: {type: number}
            startedAt: {type: string, format: date-time}
            finishedAt: {type: string, format: date-time}
            error: {type: string}
        """#
    )
}
