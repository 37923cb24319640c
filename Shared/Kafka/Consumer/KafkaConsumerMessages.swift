import NIOCore

/// The messages a `KafkaConsumer` reads, in partition order. One task may iterate it.
/// It ends when the consumer stops, and throws if the consumer failed fatally.
public struct KafkaConsumerMessages: AsyncSequence, Sendable {
    public typealias Element = KafkaConsumerMessage
    typealias Backing = NIOThrowingAsyncSequenceProducer<
        KafkaConsumerMessage, any Error, NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark, ConsumerSequenceDelegate
    >

    let backing: Backing

    public struct AsyncIterator: AsyncIteratorProtocol {
        var backing: Backing.AsyncIterator

        public mutating func next() async throws -> KafkaConsumerMessage? {
            try await backing.next()
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(backing: backing.makeAsyncIterator())
    }
}
