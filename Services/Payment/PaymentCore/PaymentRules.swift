import Contracts

/// The payment service's decisions, free of storage and processors.
public enum PaymentRules {
    /// The test card number that every processor declines.
    public static let declinedTestCard = "4000000000000002"

    /// A business refusal (not retriable), or nil when the payment may go to a processor.
    public static func declineReason(amount: Money, cardNumber: String, limit: Money) -> String? {
        if cardNumber.filter(\.isNumber) == declinedTestCard {
            // (Never the number in a reason: reasons travel in events and logs.)
            return "card declined (the test card every processor declines)"
        }
        if amount > limit {
            return "amount \(amount) exceeds the customer's limit of \(limit)"
        }
        return nil
    }

    /// Why an authorization command is malformed, or nil.
    public static func problem(amount: Money, cardNumber: String) -> String? {
        if amount.minorUnits <= 0 { return "amount \(amount) is not positive" }
        let digits = cardNumber.filter(\.isNumber)
        if digits.count < 12 || digits.count > 19 || digits.count != cardNumber.filter({ $0 != " " }).count {
            return "card number must be 12-19 digits"
        }
        return nil
    }
}

