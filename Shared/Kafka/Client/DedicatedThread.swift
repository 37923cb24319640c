import Dispatch
import Foundation

/// Where blocking librdkafka calls run: never on Swift's cooperative thread pool.
enum DedicatedThread {
    /// Runs a long blocking loop on a new OS thread and resumes when it returns.
    static func run(name: String, _ body: @escaping @Sendable () -> Void) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let thread = Thread {
                body()
                continuation.resume()
            }
            thread.name = name
            thread.start()
        }
    }

    /// Runs one short blocking call (a metadata request, an admin call) on a
    /// Dispatch worker thread and resumes with its result.
    static func perform<T: Sendable>(_ body: @escaping @Sendable () throws(KafkaError) -> T) async throws(KafkaError) -> T {
        let result: Result<T, KafkaError> = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                do throws(KafkaError) {
                    continuation.resume(returning: .success(try body()))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
        return try result.get()
    }
}
