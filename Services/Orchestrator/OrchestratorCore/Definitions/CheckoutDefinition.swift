import Foundation
import Messaging

/// The checkout saga as the JSON document the orchestrator loads at start-up.
///
/// Version 2 makes scheduling the shipment the pivot: before it, a failure undoes what was
/// done (stock released, the payment reversed by its state); after it, capture and commit
/// are retried until they succeed and never compensated. Sagas started on version 1 (in an
/// existing database) finish on version 1.
public enum CheckoutDefinition {
    public static let json = """
    {
      "name": "checkout",
      "version": 2,
      "description": "Verify the customer; reserve stock and authorize payment in parallel (backup processor on failure); free priority shipping for premium orders over 100; ship (the point of no return); capture and commit until they succeed.",
      "pivot": "schedule-shipment",
      "stuckAfterSeconds": 60,
      "stages": [
        {"step": {"id": "verify-customer", "participant": "profile", "command": "profile.verify-customer.v1",
                  "retry": {"attempts": 3, "initialBackoffMilliseconds": 200, "multiplier": 2, "maxBackoffMilliseconds": 2000},
                  "timeoutMilliseconds": 3000}},
        {"parallel": [
          {"id": "reserve-stock", "participant": "inventory", "command": "inventory.reserve-stock.v1",
           "compensation": "inventory.release-stock.v1",
           "retry": {"attempts": 3, "initialBackoffMilliseconds": 200, "multiplier": 2, "maxBackoffMilliseconds": 2000},
           "timeoutMilliseconds": 3000},
          {"id": "authorize-payment", "participant": "payment", "command": "payment.authorize.v1",
           "compensation": "payment.reverse.v1",
           "retry": {"attempts": 2, "initialBackoffMilliseconds": 200, "multiplier": 2, "maxBackoffMilliseconds": 2000},
           "timeoutMilliseconds": 3000,
           "route": "payment/primary", "breaker": {"threshold": 3, "openSeconds": 10, "halfOpenTrials": 1},
           "fallback": {"set": {"payment.processor": "backup"}, "route": "payment/backup",
                        "retry": {"attempts": 2, "initialBackoffMilliseconds": 200, "multiplier": 2, "maxBackoffMilliseconds": 2000}}}
        ]},
        {"decide": {"id": "premium-shipping",
                    "when": {"all": [{"equals": {"path": "customer.tier", "value": "premium"}},
                                     {"greaterThan": {"path": "order.total", "value": "100.00"}}]},
                    "then": {"shipping.priority": true, "shipping.free": true},
                    "otherwise": {"shipping.priority": false, "shipping.free": false}}},
        {"step": {"id": "schedule-shipment", "participant": "shipping", "command": "shipping.schedule-shipment.v1",
                  "compensation": "shipping.cancel-shipment.v1",
                  "retry": {"attempts": 3, "initialBackoffMilliseconds": 200, "multiplier": 2, "maxBackoffMilliseconds": 2000},
                  "timeoutMilliseconds": 3000}},
        {"parallel": [
          {"id": "capture-payment", "participant": "payment", "command": "payment.capture.v1",
           "retry": {"initialBackoffMilliseconds": 200, "multiplier": 2, "maxBackoffMilliseconds": 10000},
           "timeoutMilliseconds": 3000},
          {"id": "commit-stock", "participant": "inventory", "command": "inventory.commit-stock.v1",
           "retry": {"initialBackoffMilliseconds": 200, "multiplier": 2, "maxBackoffMilliseconds": 10000},
           "timeoutMilliseconds": 3000}
        ]}
      ]
    }
    """

    public static var definition: SagaDefinition {
        // The document is part of the program and covered by tests; failing here is a programming error.
        try! MessageCoding.decode(SagaDefinition.self, from: Data(json.utf8))
    }
}
