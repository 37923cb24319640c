import Foundation
import Messaging

/// A command the engine decided to send: to which participant, for which step, with
/// which message id (replies are matched by their `causation-id`).
public struct OutgoingCommand: Sendable {
    public let participant: String
    public let step: String
    public let messageID: UUID
    public let message: any MessageContract
}

/// The saga state machine. It is pure apart from the circuit breakers: given an instance,
/// its definition, an input (start, reply, timer) and the time, it changes the instance and
/// returns the commands to send. The runner stores both in one transaction.
public struct SagaEngine: Sendable {
    public let catalog: CommandCatalog
    public let breakers: CircuitBreakers

    public init(catalog: CommandCatalog = .standard, breakers: CircuitBreakers = CircuitBreakers()) {
        self.catalog = catalog
        self.breakers = breakers
    }

    public func start(_ saga: inout SagaInstance, _ definition: SagaDefinition, now: Date) -> [OutgoingCommand] {
        saga.record("saga started", detail: "\(definition.key)", at: now)
        return advance(&saga, definition, now: now)
    }

    /// Applies a reply. Replies that match no pending command (late, duplicate) change nothing.
    public func reply(_ saga: inout SagaInstance, _ definition: SagaDefinition, causationID: UUID, messageType: String, outcome: CommandCatalog.Outcome, now: Date) -> [OutgoingCommand] {
        var match = saga.steps.first { $0.value.pendingMessageID == causationID }
        if match == nil, !outcome.isTechnicalFailure {
            // A definite answer to an earlier attempt of a step still in progress (it timed
            // out, a retry is pending or in flight): the effect happened, so take it.
            match = saga.steps.first { entry in
                (entry.value.status == .running || entry.value.status == .waitingRetry)
                    && entry.value.attempts.contains { $0.messageID == causationID }
            }
            if let (id, _) = match { saga.record("late reply accepted", step: id, detail: messageType, at: now) }
        }
        guard let (id, state) = match, let step = definition.step(id) else {
            saga.record("late reply ignored", detail: messageType, at: now)
            return []
        }
        var updated = state
        updated.pendingMessageID = nil
        updated.deadline = nil
        if !updated.attempts.isEmpty {
            updated.attempts[updated.attempts.count - 1].finishedAt = now
            updated.attempts[updated.attempts.count - 1].result = describe(outcome, messageType)
        }
        let compensating = state.status == .compensating
        let route = compensating || updated.usingFallback ? nil : step.participant
        switch outcome {
        case .success(let updates):
            if let route { breakers.recordSuccess(route) }
            if compensating {
                updated.status = .compensated
                saga.record("compensated", step: id, detail: messageType, at: now)
            } else {
                for (path, value) in updates { saga.data.set(path, to: value) }
                updated.status = .succeeded
                updated.finishedAt = now
                updated.outcome = messageType
                saga.completions += 1
                updated.completedSequence = saga.completions
                saga.record("step succeeded", step: id, detail: messageType, at: now)
            }
            saga.steps[id] = updated
        case .rejected(let reason):
            if let route { breakers.recordSuccess(route) }
            saga.steps[id] = updated
            if compensating {
                // A compensation refused for good: nothing more can be done automatically.
                saga.steps[id]?.status = .compensationFailed
                saga.record("compensation refused", step: id, detail: reason, at: now)
            } else {
                fail(&saga, step: id, reason: reason, now: now)
            }
        case .failed(let reason):
            if let route { breakers.recordFailure(route, now: now) }
            saga.steps[id] = updated
            technicalFailure(&saga, step, reason: reason, now: now)
        }
        var commands = commandsForRetriesDue(&saga, definition, now: now, only: id)
        commands += advance(&saga, definition, now: now)
        return commands
    }

    /// Handles timeouts and retries whose time has come.
    public func tick(_ saga: inout SagaInstance, _ definition: SagaDefinition, now: Date) -> [OutgoingCommand] {
        guard !saga.status.isFinished else { return [] }
        for step in definition.steps {
            guard let state = saga.steps[step.id], let deadline = state.deadline, deadline <= now, state.pendingMessageID != nil else { continue }
            var updated = state
            updated.pendingMessageID = nil
            updated.deadline = nil
            if !updated.attempts.isEmpty {
                updated.attempts[updated.attempts.count - 1].finishedAt = now
                updated.attempts[updated.attempts.count - 1].result = "timed out"
            }
            saga.steps[step.id] = updated
            if state.status == .running && !state.usingFallback { breakers.recordFailure(step.participant, now: now) }
            saga.record("timed out", step: step.id, detail: "no reply within \(step.timeout)", at: now)
            technicalFailure(&saga, step, reason: "timed out after \(step.timeout)", now: now)
        }
        var commands = commandsForRetriesDue(&saga, definition, now: now, only: nil)
        commands += advance(&saga, definition, now: now)
        return commands
    }

    /// After the orchestrator was down: commands still awaiting replies get a fresh timeout
    /// from `now` (their replies may be waiting in Kafka; the downtime is not the
    /// participant's fault), so a restart does not turn into a burst of timeouts.
    public func resume(_ saga: inout SagaInstance, _ definition: SagaDefinition, now: Date) {
        var resumed: [String] = []
        for step in definition.steps {
            guard let state = saga.steps[step.id], state.pendingMessageID != nil, let deadline = state.deadline, deadline < now.addingTimeInterval(step.timeout.seconds) else { continue }
            saga.steps[step.id]?.deadline = now.addingTimeInterval(step.timeout.seconds)
            resumed.append(step.id)
        }
        if !resumed.isEmpty {
            saga.record("resumed after restart", detail: "waiting again for \(resumed.joined(separator: ", "))", at: now)
        }
    }

    // MARK: - Moving forward

    private func advance(_ saga: inout SagaInstance, _ definition: SagaDefinition, now: Date) -> [OutgoingCommand] {
        var commands: [OutgoingCommand] = []
        while true {
            switch saga.status {
            case .running:
                guard saga.stage < definition.stages.count else {
                    saga.status = .completed
                    saga.finishedAt = now
                    saga.record("saga completed", at: now)
                    return commands
                }
                let stage = definition.stages[saga.stage]
                if case .decide(let decision) = stage {
                    let holds = decision.when.evaluate(saga.data)
                    for (path, value) in (holds ? decision.then : decision.otherwise ?? [:]) { saga.data.set(path, to: value) }
                    saga.record("decision", step: decision.id, detail: holds ? "condition held" : "condition did not hold", at: now)
                    saga.stage += 1
                    continue
                }
                for step in stage.steps where saga.steps[step.id]?.status == .pending {
                    if let condition = step.when, !condition.evaluate(saga.data) {
                        saga.steps[step.id]?.status = .skipped
                        saga.record("step skipped", step: step.id, detail: "condition did not hold", at: now)
                        continue
                    }
                    saga.steps[step.id]?.startedAt = now
                    if let command = attempt(&saga, step, now: now) { commands.append(command) }
                }
                let states = stage.steps.compactMap { saga.steps[$0.id] }
                guard states.allSatisfy({ $0.status.isSettled }) else { return commands }
                if states.contains(where: { $0.status == .failed }) {
                    beginCompensation(&saga, definition, now: now)
                    continue
                }
                saga.stage += 1
            case .compensating:
                if saga.steps.values.contains(where: { $0.status == .compensating }) { return commands }
                guard let next = saga.compensationQueue.first, let step = definition.step(next), let compensation = step.compensation else {
                    let undone = saga.steps.values.contains { $0.status == .compensated }
                    let stuck = saga.steps.values.contains { $0.status == .compensationFailed }
                    saga.status = undone && !stuck ? .compensated : .failed
                    saga.finishedAt = now
                    saga.record(saga.status == .compensated ? "saga compensated" : "saga failed", detail: saga.failure, at: now)
                    return commands
                }
                saga.compensationQueue.removeFirst()
                saga.steps[next]?.status = .compensating
                saga.record("compensating", step: next, detail: compensation, at: now)
                if let command = send(&saga, step, command: compensation, fallback: false, now: now) {
                    commands.append(command)
                }
                return commands
            case .completed, .compensated, .failed:
                return commands
            }
        }
    }

    private func beginCompensation(_ saga: inout SagaInstance, _ definition: SagaDefinition, now: Date) {
        saga.status = .compensating
        saga.compensationQueue = definition.steps
            .filter { $0.compensation != nil && saga.steps[$0.id]?.status == .succeeded }
            .sorted { (saga.steps[$0.id]?.completedSequence ?? 0) > (saga.steps[$1.id]?.completedSequence ?? 0) }
            .map(\.id)
        saga.record("compensation started", detail: saga.compensationQueue.isEmpty ? "nothing to undo" : saga.compensationQueue.joined(separator: ", "), at: now)
    }

    private func fail(_ saga: inout SagaInstance, step id: String, reason: String, now: Date) {
        saga.steps[id]?.status = .failed
        saga.steps[id]?.finishedAt = now
        saga.steps[id]?.outcome = reason
        if saga.failure == nil { saga.failure = "\(id): \(reason)" }
        saga.record("step failed", step: id, detail: reason, at: now)
    }

    /// A failure reply or a timeout: retry after backoff, fall back, or give up.
    private func technicalFailure(_ saga: inout SagaInstance, _ step: SagaDefinition.Step, reason: String, now: Date) {
        guard let state = saga.steps[step.id] else { return }
        let compensating = state.status == .compensating
        let policy = compensating ? RetryPolicy(attempts: max(5, step.retryPolicy.attempts), initialBackoff: step.retryPolicy.initialBackoff, multiplier: step.retryPolicy.multiplier, maxBackoff: step.retryPolicy.maxBackoff)
            : (state.usingFallback ? step.fallback?.retry ?? step.retryPolicy : step.retryPolicy)
        let used = state.attempts.filter { $0.fallback == state.usingFallback && ($0.command == step.compensation) == compensating }.count
        if used < policy.attempts {
            let delay = policy.backoff(after: used)
            saga.steps[step.id]?.deadline = now.addingTimeInterval(delay.seconds)
            if !compensating { saga.steps[step.id]?.status = .waitingRetry }
            saga.record("retry scheduled", step: step.id, detail: "\(reason); attempt \(used + 1) of \(policy.attempts) in \(delay)", at: now)
        } else if compensating {
            saga.steps[step.id]?.status = .compensationFailed
            saga.record("compensation failed", step: step.id, detail: reason, at: now)
        } else if step.fallback != nil && !state.usingFallback {
            saga.steps[step.id]?.usingFallback = true
            saga.steps[step.id]?.status = .waitingRetry
            saga.steps[step.id]?.deadline = now
            saga.record("falling back", step: step.id, detail: reason, at: now)
        } else {
            fail(&saga, step: step.id, reason: reason, now: now)
        }
    }

    /// Sends the next attempt of every step whose retry is due.
    private func commandsForRetriesDue(_ saga: inout SagaInstance, _ definition: SagaDefinition, now: Date, only: String?) -> [OutgoingCommand] {
        var commands: [OutgoingCommand] = []
        for step in definition.steps where only == nil || step.id == only {
            guard let state = saga.steps[step.id], state.pendingMessageID == nil, let deadline = state.deadline, deadline <= now else { continue }
            saga.steps[step.id]?.deadline = nil
            if state.status == .compensating, let compensation = step.compensation {
                if let command = send(&saga, step, command: compensation, fallback: false, now: now) { commands.append(command) }
            } else if state.status == .waitingRetry {
                saga.steps[step.id]?.status = .running
                if let command = attempt(&saga, step, now: now) { commands.append(command) }
            }
        }
        return commands
    }

    /// Sends the step's command on its normal route, or on the fallback route when it is
    /// already falling back or the participant's circuit is open.
    private func attempt(_ saga: inout SagaInstance, _ step: SagaDefinition.Step, now: Date) -> OutgoingCommand? {
        saga.steps[step.id]?.status = .running
        if saga.steps[step.id]?.usingFallback == false && !breakers.allows(step.participant, now: now) {
            saga.record("circuit open", step: step.id, detail: step.participant, at: now)
            if step.fallback != nil {
                saga.steps[step.id]?.usingFallback = true
            } else {
                let number = (saga.steps[step.id]?.attempts.count ?? 0) + 1
                saga.steps[step.id]?.attempts.append(StepAttempt(number: number, command: step.command, fallback: false, sentAt: now, finishedAt: now, result: "not sent: circuit open"))
                technicalFailure(&saga, step, reason: "circuit open for \(step.participant)", now: now)
                return nil
            }
        }
        return send(&saga, step, command: step.command, fallback: saga.steps[step.id]?.usingFallback ?? false, now: now)
    }

    private func send(_ saga: inout SagaInstance, _ step: SagaDefinition.Step, command type: String, fallback: Bool, now: Date) -> OutgoingCommand? {
        if fallback, let overrides = step.fallback?.set {
            for (path, value) in overrides { saga.data.set(path, to: value) }
        }
        guard let entry = catalog.commands[type] else {
            fail(&saga, step: step.id, reason: "unknown command \(type)", now: now)
            return nil
        }
        let message: any MessageContract
        do {
            message = try entry.build(saga.data)
        } catch {
            fail(&saga, step: step.id, reason: "cannot build \(type): \(error)", now: now)
            return nil
        }
        let messageID = UUID()
        var state = saga.steps[step.id] ?? StepState()
        state.attempts.append(StepAttempt(number: state.attempts.count + 1, messageID: messageID, command: type, fallback: fallback, sentAt: now))
        state.pendingMessageID = messageID
        state.deadline = now.addingTimeInterval(step.timeout.seconds)
        saga.steps[step.id] = state
        saga.record("command sent", step: step.id, detail: "\(type)\(fallback ? " (fallback)" : "") attempt \(state.attempts.count)", at: now)
        return OutgoingCommand(participant: entry.participant, step: step.id, messageID: messageID, message: message)
    }

    private func describe(_ outcome: CommandCatalog.Outcome, _ messageType: String) -> String {
        switch outcome {
        case .success: messageType
        case .rejected(let reason): "\(messageType): \(reason)"
        case .failed(let reason): "\(messageType): \(reason)"
        }
    }
}

extension Duration {
    /// This duration in (fractional) seconds.
    var seconds: TimeInterval {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
