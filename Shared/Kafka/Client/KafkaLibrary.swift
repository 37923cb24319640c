/// Facts about the linked librdkafka.
public enum KafkaLibrary {
    /// The oldest librdkafka Ensemble accepts: 2.0.x mis-skips tagged fields in
    /// ApiVersions replies and cannot talk to current brokers.
    public static let minimumVersion = (major: 2, minor: 1)

    /// The version string of the librdkafka loaded at run time, e.g. `2.8.0`.
    public static var version: String { RDKafkaLibrary.versionString }

    /// Throws `.unsupportedVersion` when the librdkafka loaded at run time is too old,
    /// for instance because the loader picked a distribution copy over `/usr/local`.
    public static func checkVersion() throws(KafkaError) {
        let (major, minor) = RDKafkaLibrary.version
        if (major, minor) < minimumVersion {
            throw KafkaError(
                code: .unsupportedVersion,
                message: "librdkafka \(version) is loaded, but Ensemble needs \(minimumVersion.major).\(minimumVersion.minor) or newer (run `make setup`)"
            )
        }
    }
}
