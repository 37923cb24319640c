import Contracts
import Foundation
import Messaging
import ProfileCore
import Testing

@Suite("Profile service")
struct ProfileServiceTests {
    @Test("verification replies with the tier, or rejects unknown and blocked customers", arguments: [
        ("alice", CustomerVerified.messageType, "standard"),
        ("bob", CustomerVerified.messageType, "premium"),
        ("mallory", CustomerRejected.messageType, "blocked"),
        ("nobody", CustomerRejected.messageType, "unknown"),
    ])
    func verify(customer: String, replyType: String, detail: String) async throws {
        let harness = try await Harness.make(ProfileService())
        try await harness.running { harness in
            let command = try await harness.send(VerifyCustomer(customerID: customer), correlation: "order-\(customer)")
            let reply = try #require(try await harness.replies(to: command).first)
            #expect(reply.messageType == replyType)
            #expect(reply.correlationID == "order-\(customer)")
            let body = String(decoding: reply.body, as: UTF8.self)
            #expect(body.contains(#""\#(detail)""#))
            try await eventually("the event") { harness.events.contains { $0.causationID == command.messageID } }
            #expect(harness.events.first?.messageType == replyType, "the outcome is also published as an event")
        }
    }

    @Test("registration and updates validate input and publish events with the changed fields")
    func rulesForChanges() {
        let valid = Customer(id: "carol", name: "Carol", email: "carol@example.com")
        #expect(ProfileRules.validate(valid) == nil)
        #expect(ProfileRules.validate(Customer(id: "", name: "X", email: "x@example.com")) != nil)
        #expect(ProfileRules.validate(Customer(id: "a b", name: "X", email: "x@example.com")) != nil)
        #expect(ProfileRules.validate(Customer(id: "x", name: " ", email: "x@example.com")) == "name must not be empty")
        #expect(ProfileRules.validate(Customer(id: "x", name: "X", email: "x-at-example")) != nil)

        let (updated, changed) = ProfileRules.apply(CustomerUpdate(phone: "+1 555 0199", tier: .premium, blocked: false), to: valid)
        #expect(changed == ["phone", "tier"])
        #expect(updated.version == 2)
        let (same, none) = ProfileRules.apply(CustomerUpdate(name: "Carol"), to: valid)
        #expect(none.isEmpty)
        #expect(same.version == 1)
    }
}
