import Configuration
import Messaging

/// A service's settings: the common ones, its fault plan, and the topic names it uses.
public struct HostSettings: Sendable {
    public var service: ServiceConfiguration
    public var faults: FaultPlan
    /// The catalog's names unless a prefix is set (tests give each run its own).
    public var topics: TopicNames
    /// Whether the service takes part in the choreographed checkout (`CHOREOGRAPHY`, on
    /// unless `off`): its consumers of the event topics run only then. A deployment that
    /// only orchestrates turns it off and does not pay for reading every event.
    public var choreography: Bool

    public init(service: ServiceConfiguration, faults: FaultPlan = .none, topics: TopicNames = .standard, choreography: Bool = true) {
        self.service = service
        self.faults = faults
        self.topics = topics
        self.choreography = choreography
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
        var choreography = true
        if let text = reader.string(forKey: "choreography") {
            guard ["on", "off"].contains(text) else { throw .invalid("CHOREOGRAPHY", text, expected: "on or off") }
            choreography = text == "on"
        }
        return HostSettings(service: service, faults: faults, choreography: choreography)
    }
}
