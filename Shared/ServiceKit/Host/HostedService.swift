import Messaging
import Storage

/// What every Ensemble service is: a name, an HTTP port, its own tables, and what it adds
/// to a `ServiceHost` — its consumers, routes and background work. The host supplies the
/// rest (database, outbox relay, health, metrics, HTTP server, supervision), so adding a
/// service means writing its domain and its routes.
public protocol HostedService: Sendable {
    /// What `assemble` hands back to whoever opened the service (a test, the CLI): the
    /// saga runner, a participant's context, ...
    associatedtype Handle: Sendable = Void

    /// `payment`, `orchestrator`, ...: names its database, topics, consumer group, metrics.
    var name: ServiceName { get }
    var defaultHTTPPort: Int { get }
    /// The service's own tables; the host adds the inbox and outbox before them.
    var migrations: [Migration] { get }

    /// Adds the service's consumers, routes and background services to `host`, whose
    /// database is open and migrated.
    func assemble(on host: ServiceHost) async throws -> Handle
}
