import Foundation
import Messaging

/// A command the engine decided to send: to which participant, for which step, with
/// which message id (replies are matched by their `causation-id`).
public struct OutgoingCommand: Sendable {
    public let participant: ServiceName
    public let step: String
    public let messageID: UUID
    public let message: any MessageContract
}

/// The saga state machine. It is pure apart from the circuit breakers: given an instance,
/// its definition, an input (start, reply, timer) and the time, it changes the instance and
/// returns the commands to send. The runner stores both in one transaction.
///
/// Before the definition's pivot a failed step makes the saga compensate what was done, in
/// reverse order of completion. The pivot is the point of no return: steps after it, and
/// compensations, are retried with backoff until they succeed (an open circuit delays them
/// without using attempts), and raise the stuck signal after `stuckAfterSeconds`. Only a
/// definite refusal stops them, and the saga then needs attention.
public struct SagaEngine: Sendable {
    public let catalog: CommandCatalog
    public let breakers: CircuitBreakers

    public init(catalog: CommandCatalog = .standard, breakers: CircuitBreakers = CircuitBreakers()) {
        self.catalog = catalog
        self.breakers = breakers
    }

    public func start(_ saga: inout SagaInstance, _ definition: SagaDefinition, now: Date) -> [OutgoingCommand] {
        saga.record(.sagaStarted, detail: "\(definition.key)", at: now)
        return advance(&saga, definition, now: now)
    }

    /// Applies a reply. Replies that match no pending command (late, duplicate) change nothing.
    public func reply(_ saga: inout SagaInstance, _ definition: SagaDefinition, causationID: UUID, messageType: String, outcome: CommandCatalog.Outcome, now: Date) -> [OutgoingCommand] {
        var match = saga.steps.first { $0.value.pendingMessageID == causationID }
        if match == nil, !outcome.isTechnicalFailure {
            // A definite answer to an earlier attempt of a step still in progress (it timed
            // out, a retry is pending or in flight): the effect happened, so take it.
            // Only an answer to the same phase counts: a late reply to the forward command
            // says nothing about its compensation.
            match = saga.steps.first { entry in
                guard let step = definition.step(entry.key) else { return false }
                let command = entry.value.status == .compensating ? step.compensation : step.command
                return [.running, .waitingRetry, .compensating].contains(entry.value.status)
                    && entry.value.attempts.contains { $0.messageID == causationID && $0.command == command }
            }
            if let (id, _) = match { saga.record(.lateReplyAccepted, step: id, detail: messageType, at: now) }
        }
        guard let (id, state) = match, let step = definition.step(id) else {
            saga.record(.lateReplyIgnored, detail: messageType, at: now)
            return []
        }
        var updated = state
        updated.pendingMessageID = nil
        updated.deadline = nil
        updated.resumed = nil
        if let index = updated.attempts.lastIndex(where: { $0.messageID == causationID }) ?? updated.attempts.indices.last {
            updated.attempts[index].finishedAt = now
            updated.attempts[index].result = describe(outcome, messageType)
        }
        let compensating = state.status == .compensating
        // The route of the attempt this answers (compensations take no guarded route).
        let answered = updated.attempts.last { $0.messageID == causationID }
        let route = compensating ? nil : step.route(fallback: answered?.fallback ?? updated.usingFallback)
        switch outcome {
        case .success(let updates):
            if let route { breakers.recordSuccess(route.name, now: now) }
            updated.uncertain = nil
            updated.stuckSince = nil
            if compensating {
                updated.status = .compensated
                saga.record(.compensated, step: id, detail: messageType, at: now)
            } else {
                for (path, value) in updates { saga.data.set(path, to: value) }
                updated.status = .succeeded
                updated.finishedAt = now
                updated.outcome = messageType
                saga.completions += 1
                updated.completedSequence = saga.completions
                saga.record(.stepSucceeded, step: id, detail: messageType, at: now)
            }
            saga.steps[id] = updated
        case .rejected(let reason):
            if let route { breakers.recordSuccess(route.name, now: now) }
            updated.uncertain = nil
            saga.steps[id] = updated
            if compensating {
                // A compensation refused for good: nothing more can be done automatically.
                saga.steps[id]?.status = .compensationFailed
                saga.steps[id]?.outcome = reason
                saga.record(.compensationRefused, step: id, detail: reason, at: now)
            } else if definition.isRetriable(id) {
                saga.steps[id]?.status = .failed
                saga.steps[id]?.finishedAt = now
                saga.steps[id]?.outcome = reason
                if saga.failure == nil { saga.failure = "\(id): \(reason)" }
                saga.record(.stepRefusedAfterPivot, step: id, detail: reason, at: now)
            } else {
                fail(&saga, step: id, reason: reason, now: now)
            }
        case .failed(let reason):
            if let route { breakers.recordFailure(route.name, policy: route.policy, now: now) }
            saga.steps[id] = updated
            technicalFailure(&saga, definition, step, reason: reason, now: now)
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
            updated.uncertain = true
            if !updated.attempts.isEmpty {
                updated.attempts[updated.attempts.count - 1].finishedAt = now
                updated.attempts[updated.attempts.count - 1].result = "timed out"
            }
            updated.resumed = nil
            saga.steps[step.id] = updated
            if state.status == .running && state.resumed != true {
                let route = step.route(fallback: state.usingFallback)
                breakers.recordFailure(route.name, policy: route.policy, now: now)
            }
            saga.record(.timedOut, step: step.id, detail: "no reply within \(step.timeout)", at: now)
            technicalFailure(&saga, definition, step, reason: "timed out after \(step.timeout)", now: now)
        }
        var commands = commandsForRetriesDue(&saga, definition, now: now, only: nil)
        commands += advance(&saga, definition, now: now)
        return commands
    }

    /// After the orchestrator was down: commands still awaiting replies get a fresh timeout
    /// from `now` (their replies may be waiting in Kafka; the downtime is not the
    /// participant's fault), so a restart does not turn into a burst of timeouts; and if
    /// they time out all the same (the broker lost them), that does not open circuits.
    public func resume(_ saga: inout SagaInstance, _ definition: SagaDefinition, now: Date) {
        var resumed: [String] = []
        for step in definition.steps {
            guard let state = saga.steps[step.id], state.pendingMessageID != nil, let deadline = state.deadline, deadline < now.addingTimeInterval(step.timeout.seconds) else { continue }
            saga.steps[step.id]?.deadline = now.addingTimeInterval(step.timeout.seconds)
            saga.steps[step.id]?.resumed = true
            resumed.append(step.id)
        }
        if !resumed.isEmpty {
            saga.record(.resumedAfterRestart, detail: "waiting again for \(resumed.joined(separator: ", "))", at: now)
        }
    }

    /// Drives a saga that needs attention again (an operator fixed the cause): refused
    /// compensations are sent again, or a refused step after the pivot is tried again.
    /// Returns nil when the saga does not need attention.
    public func redrive(_ saga: inout SagaInstance, _ definition: SagaDefinition, now: Date) -> [OutgoingCommand]? {
        guard saga.status == .needsAttention else { return nil }
        let refusedCompensations = definition.steps.filter { saga.steps[$0.id]?.status == .compensationFailed }
        saga.attention = nil
        saga.finishedAt = nil
        if !refusedCompensations.isEmpty {
            for step in refusedCompensations { saga.steps[step.id]?.status = .succeeded }
            saga.compensationQueue = refusedCompensations
                .sorted { (saga.steps[$0.id]?.completedSequence ?? 0) > (saga.steps[$1.id]?.completedSequence ?? 0) }
                .map(\.id)
            saga.status = .compensating
            saga.record(.redriven, detail: "compensating again: \(saga.compensationQueue.joined(separator: ", "))", at: now)
        } else {
            let refused = definition.steps.filter { definition.isRetriable($0.id) && saga.steps[$0.id]?.status == .failed }
            for step in refused {
                saga.steps[step.id]?.status = .pending
                saga.steps[step.id]?.startedAt = nil
                saga.steps[step.id]?.finishedAt = nil
                saga.steps[step.id]?.stuckSince = nil
            }
            saga.status = .running
            saga.record(.redriven, detail: "trying again: \(refused.map(\.id).joined(separator: ", "))", at: now)
        }
        return advance(&saga, definition, now: now)
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
                    saga.record(.sagaCompleted, at: now)
                    return commands
                }
                let stage = definition.stages[saga.stage]
                if case .decide(let decision) = stage {
                    let holds = decision.when.evaluate(saga.data)
                    for (path, value) in (holds ? decision.then : decision.otherwise ?? [:]) { saga.data.set(path, to: value) }
                    saga.record(.decision, step: decision.id, detail: holds ? "condition held" : "condition did not hold", at: now)
                    saga.stage += 1
                    continue
                }
                for step in stage.steps where saga.steps[step.id]?.status == .pending {
                    if let condition = step.when, !condition.evaluate(saga.data) {
                        saga.steps[step.id]?.status = .skipped
                        saga.record(.stepSkipped, step: step.id, detail: "condition did not hold", at: now)
                        continue
                    }
                    if saga.steps[step.id]?.startedAt == nil { saga.steps[step.id]?.startedAt = now }
                    if let command = attempt(&saga, definition, step, now: now) { commands.append(command) }
                }
                let states = stage.steps.compactMap { saga.steps[$0.id] }
                guard states.allSatisfy({ $0.status.isSettled }) else { return commands }
                if states.contains(where: { $0.status == .failed }) {
                    if definition.isAfterPivot(stage: saga.stage) {
                        // Past the point of no return nothing is undone: a person decides.
                        let refused = stage.steps.filter { saga.steps[$0.id]?.status == .failed }
                        needAttention(&saga, unfinished: refused.map { "\($0.id): \($0.command) refused: \(saga.steps[$0.id]?.outcome ?? "")" }, now: now)
                        return commands
                    }
                    beginCompensation(&saga, definition, now: now)
                    continue
                }
                saga.stage += 1
            case .compensating:
                if saga.steps.values.contains(where: { $0.status == .compensating }) { return commands }
                guard let next = saga.compensationQueue.first, let step = definition.step(next), let compensation = step.compensation else {
                    let refused = definition.steps.filter { saga.steps[$0.id]?.status == .compensationFailed }
                    if !refused.isEmpty {
                        needAttention(&saga, unfinished: refused.map { "\($0.id): \($0.compensation ?? "compensation") refused: \(saga.steps[$0.id]?.outcome ?? "")" }, now: now)
                        return commands
                    }
                    let undone = saga.steps.values.contains { $0.status == .compensated }
                    saga.status = undone ? .compensated : .failed
                    saga.finishedAt = now
                    saga.record(saga.status == .compensated ? .sagaCompensated : .sagaFailed, detail: saga.failure, at: now)
                    return commands
                }
                saga.compensationQueue.removeFirst()
                saga.steps[next]?.status = .compensating
                saga.steps[next]?.stuckSince = nil
                saga.record(.compensating, step: next, detail: compensation, at: now)
                if let command = send(&saga, step, command: compensation, fallback: false, now: now) {
                    commands.append(command)
                }
                return commands
            case .completed, .compensated, .failed, .needsAttention:
                return commands
            }
        }
    }

    private func needAttention(_ saga: inout SagaInstance, unfinished: [String], now: Date) {
        saga.status = .needsAttention
        saga.attention = unfinished
        saga.finishedAt = now
        saga.record(.needsAttention, detail: unfinished.joined(separator: "; "), at: now)
    }

    /// Queues the compensation of every step whose effect may have happened: the ones that
    /// succeeded, and failed ones whose attempt timed out without a definite answer.
    private func beginCompensation(_ saga: inout SagaInstance, _ definition: SagaDefinition, now: Date) {
        saga.status = .compensating
        saga.compensationQueue = definition.steps
            .filter { step in
                guard step.compensation != nil, let state = saga.steps[step.id] else { return false }
                return state.status == .succeeded || (state.status == .failed && state.uncertain == true)
            }
            .sorted { (saga.steps[$0.id]?.completedSequence ?? .max) > (saga.steps[$1.id]?.completedSequence ?? .max) }
            .map(\.id)
        saga.record(.compensationStarted, detail: saga.compensationQueue.isEmpty ? "nothing to undo" : saga.compensationQueue.joined(separator: ", "), at: now)
    }

    private func fail(_ saga: inout SagaInstance, step id: String, reason: String, now: Date) {
        saga.steps[id]?.status = .failed
        saga.steps[id]?.finishedAt = now
        saga.steps[id]?.outcome = reason
        if saga.failure == nil { saga.failure = "\(id): \(reason)" }
        saga.record(.stepFailed, step: id, detail: reason, at: now)
    }

    /// A failure reply or a timeout. A compensation or a step after the pivot is retried
    /// until it succeeds; any other step retries per its policy, then falls back or fails.
    private func technicalFailure(_ saga: inout SagaInstance, _ definition: SagaDefinition, _ step: SagaDefinition.Step, reason: String, now: Date) {
        guard let state = saga.steps[step.id] else { return }
        let compensating = state.status == .compensating
        if compensating || definition.isRetriable(step.id) {
            let used = state.attempts.filter { ($0.command == step.compensation) == compensating }.count
            let delay = step.retryPolicy.backoff(after: used)
            saga.steps[step.id]?.deadline = now.addingTimeInterval(delay.seconds)
            if !compensating { saga.steps[step.id]?.status = .waitingRetry }
            saga.record(.retryScheduled, step: step.id, detail: "\(reason); \(compensating ? "compensation " : "")attempt \(used + 1) in \(delay), until it succeeds", at: now)
            checkStuck(&saga, definition, step, compensating: compensating, reason: reason, now: now)
            return
        }
        let policy = state.usingFallback ? step.fallback?.retry ?? step.retryPolicy : step.retryPolicy
        let used = state.attempts.filter { $0.fallback == state.usingFallback && $0.command == step.command }.count
        if used < policy.attempts {
            let delay = policy.backoff(after: used)
            saga.steps[step.id]?.deadline = now.addingTimeInterval(delay.seconds)
            saga.steps[step.id]?.status = .waitingRetry
            saga.record(.retryScheduled, step: step.id, detail: "\(reason); attempt \(used + 1) of \(policy.attempts) in \(delay)", at: now)
        } else if step.fallback != nil && !state.usingFallback {
            saga.steps[step.id]?.usingFallback = true
            saga.steps[step.id]?.status = .waitingRetry
            saga.steps[step.id]?.deadline = now
            saga.record(.fallingBack, step: step.id, detail: reason, at: now)
        } else {
            fail(&saga, step: step.id, reason: reason, now: now)
        }
    }

    /// Raises the stuck signal once a step that cannot give up has kept failing for the
    /// definition's `stuckAfterSeconds` (the runner turns it into an event and a metric).
    private func checkStuck(_ saga: inout SagaInstance, _ definition: SagaDefinition, _ step: SagaDefinition.Step, compensating: Bool, reason: String, now: Date) {
        guard let state = saga.steps[step.id], state.stuckSince == nil else { return }
        let since = compensating
            ? state.attempts.first { $0.command == step.compensation }?.sentAt
            : state.startedAt
        guard let since, now.timeIntervalSince(since) >= definition.stuckAfter else { return }
        saga.steps[step.id]?.stuckSince = now
        let attempts = state.attempts.filter { ($0.command == step.compensation) == compensating }.count
        saga.record(.stuck, step: step.id, detail: "\(compensating ? "compensation " : "")not done after \(Int(now.timeIntervalSince(since))) s and \(attempts) attempts; still retrying (last: \(reason))", at: now)
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
                if let command = attempt(&saga, definition, step, now: now) { commands.append(command) }
            }
        }
        return commands
    }

    /// Sends the step's command on its route: the normal one, or the fallback once it falls
    /// back. When the route's circuit is open the step takes its fallback (if that route is
    /// closed); otherwise a step after the pivot waits for the circuit's next trial (no
    /// attempt used), and a step before it fails fast so the saga compensates.
    private func attempt(_ saga: inout SagaInstance, _ definition: SagaDefinition, _ step: SagaDefinition.Step, now: Date) -> OutgoingCommand? {
        saga.steps[step.id]?.status = .running
        let lease = step.timeout.seconds + 1
        var usingFallback = saga.steps[step.id]?.usingFallback ?? false
        var route = step.route(fallback: usingFallback)
        if !breakers.allows(route.name, policy: route.policy, now: now, lease: lease) {
            let fallback = step.route(fallback: true)
            if !usingFallback, step.fallback != nil, breakers.allows(fallback.name, policy: fallback.policy, now: now, lease: lease) {
                saga.record(.circuitOpen, step: step.id, detail: "\(route.name): taking the fallback \(fallback.name)", at: now)
                saga.steps[step.id]?.usingFallback = true
                usingFallback = true
                route = fallback
            } else if definition.isRetriable(step.id) {
                let trial = breakers.nextTrial(route.name, now: now)
                saga.steps[step.id]?.status = .waitingRetry
                saga.steps[step.id]?.deadline = trial
                saga.record(.waitingForCircuit, step: step.id, detail: "\(route.name) circuit open; next try at \(MessageCoding.timestamp(trial))", at: now)
                checkStuck(&saga, definition, step, compensating: false, reason: "circuit open", now: now)
                return nil
            } else {
                let number = (saga.steps[step.id]?.attempts.count ?? 0) + 1
                saga.steps[step.id]?.attempts.append(StepAttempt(number: number, command: step.command, fallback: usingFallback, sentAt: now, finishedAt: now, result: "not sent: circuit open"))
                saga.record(.circuitOpen, step: step.id, detail: "\(route.name): failing fast", at: now)
                fail(&saga, step: step.id, reason: "circuit open for \(route.name)", now: now)
                return nil
            }
        }
        return send(&saga, step, command: step.command, fallback: usingFallback, now: now)
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
        let messageID = UUID.timeOrdered(at: now)
        var state = saga.steps[step.id] ?? StepState()
        state.attempts.append(StepAttempt(number: state.attempts.count + 1, messageID: messageID, command: type, fallback: fallback, sentAt: now))
        state.pendingMessageID = messageID
        state.deadline = now.addingTimeInterval(step.timeout.seconds)
        saga.steps[step.id] = state
        let isCompensation = type == step.compensation
        let number = state.attempts.filter { ($0.command == step.compensation) == isCompensation }.count
        let label = isCompensation ? "compensation attempt \(number)" : "attempt \(number)\(fallback ? " (fallback)" : "")"
        saga.record(.commandSent, step: step.id, detail: "\(type) \(label)", at: now)
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
