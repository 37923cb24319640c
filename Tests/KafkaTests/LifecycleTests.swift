@testable import Kafka
import Testing

@Suite("Kafka client lifecycles")
struct LifecycleTests {
    @Test("consumer: a graceful stop drains, an immediate one overrides it, later requests change nothing")
    func consumer() {
        var machine = KafkaConsumer.StateMachine()
        #expect(machine.keepsPolling)
        #expect(machine.stop(.graceful) == .wakeUpPoller)
        #expect(!machine.keepsPolling)
        #expect(machine.stop(.graceful) == .none, "already stopping")
        #expect(machine.stop(.immediate) == .wakeUpPoller, "an immediate stop overrides a graceful one")
        #expect(machine.state == .stopping(.immediate))
        #expect(machine.pollingEnded(failed: false) == .close, "immediate: no drain")
        #expect(machine.state == .closed)
        #expect(machine.stop(.immediate) == .none)

        var graceful = KafkaConsumer.StateMachine()
        _ = graceful.stop(.graceful)
        #expect(graceful.pollingEnded(failed: false) == .drainThenClose)

        var failed = KafkaConsumer.StateMachine()
        #expect(failed.pollingEnded(failed: true) == .close, "a fatal error while running closes at once")
    }

    @Test("producer: messages are accepted until the final flush begins")
    func producer() {
        var machine = KafkaProducer.StateMachine()
        #expect(machine.acceptsMessages && machine.keepsPolling)
        #expect(machine.stop() == .wakeUpPoller)
        #expect(machine.stop() == .none)
        #expect(!machine.keepsPolling)
        #expect(machine.acceptsMessages, "still accepted while the poll loop winds down")
        machine.flushing()
        #expect(!machine.acceptsMessages)
        machine.closed()
        #expect(machine.state == .closed)
    }
}
