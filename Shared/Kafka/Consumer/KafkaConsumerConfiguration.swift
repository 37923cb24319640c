/// Consumer settings. Offsets are committed by the application after its handler
/// succeeded (`enable.auto.commit=false`, `enable.auto.offset.store=false`).
public struct KafkaConsumerConfiguration: Sendable, Hashable {
    /// What the consumer reads.
    public enum Consumption: Sendable, Hashable {
        /// Join the group and let it share the topics' partitions among its members.
        case subscribe([String])
        /// Read these partitions directly: no group join, no rebalance. Offsets are
        /// still committed under the group id.
        case assign([KafkaTopicPartition])
    }

    /// Where a group without a committed offset starts.
    public enum OffsetReset: String, Sendable, Hashable {
        case earliest
        case latest
    }

    public var client: KafkaClientConfiguration
    public var groupID: String
    public var consumption: Consumption
    public var offsetReset: OffsetReset
    /// `session.timeout.ms`. A group join on Tansu waits about half of it, so it is 6 s
    /// here rather than Kafka's 45 s; a crashed member is noticed after the same time.
    public var sessionTimeout: Duration
    /// `heartbeat.interval.ms`, a third of the session timeout.
    public var heartbeatInterval: Duration
    /// `fetch.wait.max.ms`: how long the broker may hold a fetch that has no data.
    /// librdkafka's default is 500 ms. Kafka answers a waiting fetch as soon as data
    /// arrives, but Tansu (the embedded broker) holds a fetch for the whole wait when it
    /// has nothing, and every idle fetch costs it CPU. 20 ms, chosen by measurement (Docs/
    /// performance.md): against 5 ms, the idle broker uses about a third of the CPU and
    /// the checkout completes about 30 % more orders per second, while one order alone
    /// takes 61 ms instead of 54. See Docs/kafka.md.
    public var fetchWaitMax: Duration
    /// Messages fetched ahead of the application; `poll` pauses when it is full.
    public var bufferCapacity: Int
    /// At most one background offset commit begins per interval; what is handled meanwhile
    /// goes with the next (commits before a revocation and at shutdown are not paced).
    /// A commit per handled batch was the broker's most frequent request under load; a
    /// crash reads again at most this much more of handled records, which the inboxes
    /// absorb. Zero commits whenever none is in flight.
    public var commitInterval: Duration
    /// On graceful shutdown, how long to wait for buffered messages to be handled
    /// and committed before leaving the group.
    public var shutdownDrainTimeout: Duration
    /// Stop fetching after a quiet spell (nil: fetch all the time). Woken at once by a
    /// producer of the same process, otherwise at the next peek: meant for a stack whose
    /// producers all run in one process (`ensemble up`). See `KafkaIdleBackoff`.
    public var idleBackoff: KafkaIdleBackoff?

    public init(
        client: KafkaClientConfiguration = .init(),
        groupID: String,
        consumption: Consumption,
        offsetReset: OffsetReset = .earliest,
        sessionTimeout: Duration = .seconds(6),
        heartbeatInterval: Duration = .seconds(2),
        fetchWaitMax: Duration = .milliseconds(20),
        bufferCapacity: Int = 64,
        commitInterval: Duration = .milliseconds(100),
        shutdownDrainTimeout: Duration = .seconds(10),
        idleBackoff: KafkaIdleBackoff? = nil
    ) {
        self.client = client
        self.groupID = groupID
        self.consumption = consumption
        self.offsetReset = offsetReset
        self.sessionTimeout = sessionTimeout
        self.heartbeatInterval = heartbeatInterval
        self.fetchWaitMax = fetchWaitMax
        self.bufferCapacity = bufferCapacity
        self.commitInterval = commitInterval
        self.shutdownDrainTimeout = shutdownDrainTimeout
        self.idleBackoff = idleBackoff
    }

    /// Every librdkafka property this configuration sets.
    public var librdkafkaProperties: [String: String] {
        var result = client.baseProperties
        result["group.id"] = groupID
        result["enable.auto.commit"] = "false"
        result["enable.auto.offset.store"] = "false"
        result["enable.partition.eof"] = "false"
        result["auto.offset.reset"] = offsetReset.rawValue
        result["session.timeout.ms"] = String(sessionTimeout.wholeMilliseconds)
        result["heartbeat.interval.ms"] = String(heartbeatInterval.wholeMilliseconds)
        result["fetch.wait.max.ms"] = String(fetchWaitMax.wholeMilliseconds)
        // Retry a failed fetch (e.g. a topic that is still being created) quickly.
        result["fetch.error.backoff.ms"] = "50"
        result.merge(client.properties) { _, new in new }
        return result
    }
}
