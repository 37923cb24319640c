import Foundation
import Messaging
import Synchronization

/// Pushes a customer's profile to every `GET /profiles/{id}/stream` client each time an
/// applied event changes it.
final class ProfileStream: Sendable {
    private let subscribers = Mutex<[String: [UUID: AsyncStream<String>.Continuation]]>([:])

    /// A stream of the customer's profile JSON, until `cancel` or the client goes away.
    func subscribe(_ customer: String) -> (id: UUID, updates: AsyncStream<String>) {
        let id = UUID.random()
        let (stream, continuation) = AsyncStream.makeStream(of: String.self, bufferingPolicy: .bufferingNewest(16))
        subscribers.withLock { $0[customer, default: [:]][id] = continuation }
        continuation.onTermination = { [weak self] _ in self?.cancel(customer, id) }
        return (id, stream)
    }

    func cancel(_ customer: String, _ id: UUID) {
        let continuation = subscribers.withLock { all -> AsyncStream<String>.Continuation? in
            defer { if all[customer]?.isEmpty == true { all[customer] = nil } }
            return all[customer]?.removeValue(forKey: id)
        }
        continuation?.finish()
    }

    /// Sends each changed profile to its subscribers.
    func publish(_ documents: [String: String]) {
        let targets = subscribers.withLock { all in documents.keys.compactMap { key in all[key].map { (key, Array($0.values)) } } }
        for (customer, continuations) in targets {
            guard let document = documents[customer] else { continue }
            for continuation in continuations { continuation.yield(document) }
        }
    }

    var subscriberCount: Int { subscribers.withLock { $0.values.reduce(0) { $0 + $1.count } } }
}
