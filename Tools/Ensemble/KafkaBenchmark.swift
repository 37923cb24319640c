import Dispatch
import Foundation
import Kafka
import Logging

/// The Kafka benchmark: producer throughput, then ping-pong hop latency.
struct KafkaBenchmark: Sendable {
    let client: KafkaClientConfiguration
    let messages: Int
    let size: Int
    let roundTrips: Int
    let partitions: Int
    let brokerDescription: String
    let logger: Logger

    struct Result: Sendable, Codable {
        var broker: String
        var librdkafka: String
        var messages: Int
        var messageBytes: Int
        var produceSeconds: Double
        var messagesPerSecond: Double
        var megabytesPerSecond: Double
        var roundTrips: Int
        var hopP50Milliseconds: Double
        var hopP99Milliseconds: Double
        var hopMaxMilliseconds: Double
        var roundTripP50Milliseconds: Double
        var peakResidentMegabytes: Double

        var json: String {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
        }

        var table: String {
            TextTable(
                title: "ensemble bench kafka — \(broker), librdkafka \(librdkafka)",
                columns: ["measure", "value"],
                rows: [
                    ["produce: messages", "\(messages) × \(messageBytes) B (idempotent, acks=all)"],
                    ["produce: throughput", "\(format(messagesPerSecond, 0)) msg/s, \(format(megabytesPerSecond, 1)) MB/s (\(format(produceSeconds, 3)) s)"],
                    ["hop latency p50", "\(format(hopP50Milliseconds, 3)) ms"],
                    ["hop latency p99", "\(format(hopP99Milliseconds, 3)) ms"],
                    ["hop latency max", "\(format(hopMaxMilliseconds, 3)) ms"],
                    ["round trip p50", "\(format(roundTripP50Milliseconds, 3)) ms (\(roundTrips) round trips)"],
                    ["peak resident memory", "\(format(peakResidentMegabytes, 1)) MiB"],
                ]
            ).rendered
        }
    }

    func run(progress: @escaping @Sendable (String) -> Void) async throws -> Result {
        let admin = try KafkaAdmin(configuration: client, logger: logger)
        _ = try await admin.metadata(timeout: .seconds(10))
        let run = UUID().uuidString.prefix(8).lowercased()
        let throughputTopic = "bench-throughput-\(run)"
        let pingTopic = "bench-ping-\(run)"
        let pongTopic = "bench-pong-\(run)"
        try await admin.createTopics([
            KafkaTopicSpec(name: throughputTopic, partitions: partitions),
            KafkaTopicSpec(name: pingTopic, partitions: 1),
            KafkaTopicSpec(name: pongTopic, partitions: 1),
        ], timeout: .seconds(10))

        let producer = try KafkaProducer(configuration: .init(client: client), logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await producer.run() }
            defer { group.cancelAll() }

            let (seconds, _) = try await produceAll(producer: producer, topic: throughputTopic, progress: progress)
            let (hops, rounds) = try await pingPong(producer: producer, ping: pingTopic, pong: pongTopic, progress: progress)
            let hopMillis = hops.map { Double($0) / 1_000_000 }.sorted()
            let roundMillis = rounds.map { Double($0) / 1_000_000 }.sorted()
            return Result(
                broker: brokerDescription,
                librdkafka: KafkaLibrary.version,
                messages: messages,
                messageBytes: size,
                produceSeconds: seconds,
                messagesPerSecond: Double(messages) / seconds,
                megabytesPerSecond: Double(messages * size) / seconds / 1_000_000,
                roundTrips: roundTrips,
                hopP50Milliseconds: Percentile.of(hopMillis, 0.50),
                hopP99Milliseconds: Percentile.of(hopMillis, 0.99),
                hopMaxMilliseconds: hopMillis.last ?? 0,
                roundTripP50Milliseconds: Percentile.of(roundMillis, 0.50),
                peakResidentMegabytes: ResourceUsage.peakResidentMegabytes
            )
        }
    }

    /// Enqueues every record without awaiting each report, then waits for all of them.
    private func produceAll(producer: KafkaProducer, topic: String, progress: @Sendable (String) -> Void) async throws -> (Double, Int) {
        let payload = Data((0..<size).map { UInt8(truncatingIfNeeded: $0) })
        // Warm up the connection and the idempotent producer id outside the timed run.
        _ = try await producer.send(KafkaProducerMessage(topic: topic, value: payload))
        let start = DispatchTime.now().uptimeNanoseconds
        let step = max(1, messages / 10)
        for index in 0..<messages {
            try await producer.enqueue(KafkaProducerMessage(topic: topic, value: payload))
            if index % step == 0 { progress("producing \(index * 100 / messages)%") }
        }
        try await producer.flush()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1_000_000_000
        guard producer.undeliveredCount == 0 else {
            throw KafkaError(code: .produce, message: "\(producer.undeliveredCount) of \(messages) records were not delivered")
        }
        return (seconds, messages)
    }

    /// Ping-pong: this task produces to `ping`; a responder consumes it and produces to
    /// `pong`; this task consumes `pong`. Each side stamps when it received, so both hops
    /// are measured on one monotonic clock.
    private func pingPong(producer: KafkaProducer, ping: String, pong: String, progress: @escaping @Sendable (String) -> Void) async throws -> ([UInt64], [UInt64]) {
        let group = "bench-\(UUID().uuidString.prefix(8))"
        let responder = try KafkaConsumer(
            configuration: .init(client: client, groupID: group + "-responder", consumption: .assign([KafkaTopicPartition(topic: ping, partition: 0, start: .beginning)])),
            logger: logger
        )
        let receiver = try KafkaConsumer(
            configuration: .init(client: client, groupID: group + "-receiver", consumption: .assign([KafkaTopicPartition(topic: pong, partition: 0, start: .beginning)])),
            logger: logger
        )
        let warmUp = min(100, roundTrips)
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await responder.run() }
            tasks.addTask { try await receiver.run() }
            tasks.addTask {
                for try await message in responder.messages {
                    // value = sent-at; the pong carries sent-at + received-at.
                    var value = message.value
                    value.append(contentsOf: Self.bytes(DispatchTime.now().uptimeNanoseconds))
                    try await producer.enqueue(KafkaProducerMessage(topic: pong, partition: 0, value: value))
                }
            }
            defer { tasks.cancelAll() }

            var hops: [UInt64] = []
            var rounds: [UInt64] = []
            hops.reserveCapacity(roundTrips * 2)
            var replies = receiver.messages.makeAsyncIterator()
            for index in 0..<(warmUp + roundTrips) {
                let sentAt = DispatchTime.now().uptimeNanoseconds
                try await producer.enqueue(KafkaProducerMessage(topic: ping, partition: 0, value: Self.bytes(sentAt)))
                guard let reply = try await replies.next() else { throw KafkaError(code: .consume, message: "the pong consumer stopped") }
                let receivedAt = DispatchTime.now().uptimeNanoseconds
                guard reply.value.count == 16 else { throw KafkaError(code: .consume, message: "unexpected pong of \(reply.value.count) bytes") }
                let pingSent = Self.integer(reply.value.prefix(8))
                let pingReceived = Self.integer(reply.value.suffix(8))
                guard index >= warmUp else { continue }
                hops.append(pingReceived - pingSent)
                hops.append(receivedAt - pingReceived)
                rounds.append(receivedAt - pingSent)
                if index % max(1, roundTrips / 10) == 0 { progress("ping-pong \((index - warmUp) * 100 / roundTrips)%") }
            }
            return (hops, rounds)
        }
    }

    private static func bytes(_ value: UInt64) -> Data {
        withUnsafeBytes(of: value.littleEndian) { Data($0) }
    }

    private static func integer(_ data: Data) -> UInt64 {
        data.reduce(into: (value: UInt64(0), shift: UInt64(0))) { state, byte in
            state.value |= UInt64(byte) << state.shift
            state.shift += 8
        }.value
    }
}

func format(_ value: Double, _ decimals: Int) -> String {
    String(format: "%.\(decimals)f", value)
}
