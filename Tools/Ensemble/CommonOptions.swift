import ArgumentParser
import Configuration
import Foundation
import Logging
import ServiceKit

/// Options every command shares. Flags win over environment variables, which win over defaults.
struct CommonOptions: ParsableArguments {
    @Option(help: "Kafka bootstrap servers, host:port[,host:port] (env KAFKA_BROKERS).")
    var brokers: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical (env LOG_LEVEL).")
    var logLevel: String?

    @Option(help: "Log format: json or text (env LOG_FORMAT).")
    var logFormat: String?

    /// The configuration reader `main` hands to every component: flags, then environment.
    func reader(environment: [String: String] = ProcessInfo.processInfo.environment) -> ConfigReader {
        var flags: [AbsoluteConfigKey: ConfigValue] = [:]
        if let brokers { flags["kafka.brokers"] = .init(.string(brokers), isSecret: false) }
        if let logLevel { flags["log.level"] = .init(.string(logLevel), isSecret: false) }
        if let logFormat { flags["log.format"] = .init(.string(logFormat), isSecret: false) }
        return ConfigReader(providers: [
            InMemoryProvider(name: "flags", values: flags),
            EnvironmentVariablesProvider(environmentVariables: environment),
        ])
    }

    /// Sets up logging for a one-shot command (topics, bench): plain text, errors only,
    /// unless `--log-level` / `LOG_LEVEL` or `--log-format` / `LOG_FORMAT` say otherwise,
    /// so that a failure reads as the one line the command prints.
    func bootstrapCommandLogging(_ configuration: ServiceConfiguration, reader: ConfigReader, label: String) -> Logger {
        let level = reader.string(forKey: "log.level") == nil ? .error : configuration.logLevel
        let format = reader.string(forKey: "log.format") == nil ? .text : configuration.logFormat
        Observability.bootstrapLogging(service: "ensemble", format: format, level: level)
        return Logger(label: label)
    }
}
