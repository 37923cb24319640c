import Configuration
import Messaging

/// A service's settings: the common ones, its fault plan, and the topic names it uses.
public struct HostSettings: Sendable {
    public var service: ServiceConfiguration
    public var faults: FaultPlan
    /// The catalog's names unless a prefix is set (tests give each run its own).
    public var topics: TopicNames

    public init(service: ServiceConfiguration, faults: FaultPlan = .none, topics: TopicNames = .standard) {
        self.service = service
        self.faults = faults
        self.topics = topics
    }

    /// Reads the common settings, and `<NAME>_FAULTS` (or `FAULTS` when the service has
    /// the process to itself).
    public static func read(_ name: ServiceName, defaultPort: Int, reader: ConfigReader, shared: Bool) throws(ServiceKitError) -> HostSettings {
        let name = name.rawValue
        let service = try ServiceConfiguration(service: name, defaultPort: defaultPort, reader: reader, shared: shared)
        var faults = FaultPlan.none
        if let text = reader.string(forKey: ConfigKey(name + ".faults")) {
            faults = try FaultPlan.parse(text, variable: name.uppercased() + "_FAULTS")
        } else if shared, let text = reader.string(forKey: "faults") {
            faults = try FaultPlan.parse(text, variable: "FAULTS")
        }
        return HostSettings(service: service, faults: faults)
    }
}
