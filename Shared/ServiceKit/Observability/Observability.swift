import Logging
import Messaging
import Metrics
import Prometheus

/// Process-wide logging and metrics set-up. Only executables call these, once, in `main`.
public enum Observability {
    /// Routes swift-log to JSON lines (or plain text) on standard error at `level`.
    public static func bootstrapLogging(service: String, format: ServiceConfiguration.LogFormat, level: Logger.Level) {
        LoggingSystem.bootstrap { label in
            var handler: any LogHandler = switch format {
            case .json:
                {
                    // Lines written while a message is handled name its trace.
                    var handler = JSONLogHandler(label: label, metadataProvider: MessageTrace.metadataProvider)
                    handler[metadataKey: "service"] = "\(service)"
                    return handler
                }()
            case .text:
                StreamLogHandler.standardError(label: label, metadataProvider: MessageTrace.metadataProvider)
            }
            handler.logLevel = level
            return handler
        }
    }

    /// Installs a Prometheus registry as the metrics backend and returns it for `/metrics`.
    public static func bootstrapMetrics() -> PrometheusCollectorRegistry {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }
}
