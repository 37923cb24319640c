import Foundation
import Hummingbird
import Logging
import Messaging
import NIOCore
import Prometheus
import ServiceLifecycle

/// Builds a service's HTTP server: `/health/live`, `/health/ready`, `/metrics`, plus the
/// service's own routes, all with JSON errors.
public enum ServiceHTTPServer {
    struct Readiness: Encodable {
        let status: String
        let checks: [String: HealthState.Check]
    }

    /// The router with the routes every service has: `/health/*` open, `/metrics` open or
    /// needing `admin` as `access` says.
    public static func makeRoutes(health: HealthState, metrics: PrometheusCollectorRegistry?, access: AccessControl) -> ServiceRoutes {
        let router = Router()
        let table = RouteTable()
        router.add(middleware: JSONErrorMiddleware(routes: table))
        // Hummingbird's request metrics: count and latency per route, method and status.
        router.add(middleware: MetricsMiddleware())
        // A span per request, continuing the caller's `traceparent` (recorded when spans
        // are exported, see `TraceExport`).
        router.add(middleware: TracingMiddleware())
        let routes = ServiceRoutes(router: router, access: access, table: table)
        routes.get("health/live", scope: nil) { _, _ -> Response in
            try jsonResponse(.ok, ["status": "live"])
        }
        routes.get("health/ready", scope: nil) { _, _ -> Response in
            let ready = health.isReady
            return try jsonResponse(ready ? .ok : .serviceUnavailable, Readiness(status: ready ? "ready" : "not-ready", checks: health.snapshot))
        }
        routes.get("metrics", scope: access.metricsOpen ? nil : .admin) { _, _ -> Response in
            let bytes = metrics?.emitToBuffer() ?? []
            return Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: bytes))
            )
        }
        return routes
    }

    /// The server as a `Service`. `onRunning` receives the bound port (useful with port 0).
    public static func makeApplication(
        router: Router<BasicRequestContext>,
        host: String,
        port: Int,
        name: String,
        logger: Logger,
        onRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some Service {
        Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: name),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? port) },
            logger: logger
        )
    }

    public static func jsonResponse(_ status: HTTPResponse.Status, _ value: some Encodable) throws -> Response {
        let data = try MessageCoding.encode(value)
        return Response(
            status: status,
            headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: data))
        )
    }
}


extension JSONEncoder {
    static var sortedKeys: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }
}
