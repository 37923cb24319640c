import Foundation
import Logging
import OTel
import ServiceLifecycle
import Tracing

/// Where spans go: over OTLP/HTTP (swift-otel) when `OTEL_EXPORTER_OTLP_ENDPOINT` is set,
/// nowhere otherwise. Without it the process keeps swift-distributed-tracing's no-op
/// tracer, spans cost next to nothing, and nothing is sent anywhere. The other `OTEL_*`
/// variables (`OTEL_SERVICE_NAME`, `OTEL_BSP_SCHEDULE_DELAY`, `OTEL_EXPORTER_OTLP_HEADERS`,
/// ...) work as the OpenTelemetry specification says. Only executables call this, once.
public enum TraceExport {
    public static let endpointVariable = "OTEL_EXPORTER_OTLP_ENDPOINT"

    /// Installs the OTLP tracer as the process's tracer and returns the service that
    /// batches and sends the spans (run it in the process's `ServiceGroup`); nil when no
    /// endpoint is set.
    public static func bootstrap(service: String, environment: [String: String] = ProcessInfo.processInfo.environment, logger: Logger) throws -> (any Service)? {
        guard let endpoint = environment[endpointVariable], !endpoint.isEmpty else { return nil }
        var configuration = OTel.Configuration.default
        configuration.serviceName = service
        configuration.logs.enabled = false
        configuration.metrics.enabled = false
        configuration.traces.exporter = .otlp
        configuration.traces.otlpExporter.protocol = .httpProtobuf
        configuration.diagnosticLogger = .custom(logger)
        configuration.diagnosticLogLevel = .warning
        let (tracer, exporter) = try OTel.makeTracingBackend(configuration: configuration)
        InstrumentationSystem.bootstrap(tracer)
        logger.info("exporting spans over OTLP/HTTP", metadata: ["otlp.endpoint": "\(endpoint)"])
        return exporter
    }
}
