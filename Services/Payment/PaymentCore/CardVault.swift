import Contracts
import Foundation
import Messaging
import SQLKit
import ServiceKit
import Storage

/// The payment vault: each order's card number, encrypted at rest with AES-GCM under the
/// vault's storage key (`PAYMENT_VAULT_KEY`), behind a token (`card_…`). It is the only
/// place a number is kept; everything else the system holds is the sealed card or the
/// masked one (brand and last four digits).
enum CardVault {
    static let migration = Migration("payment-002-card-vault") { _ in
        [
            """
            CREATE TABLE card_vault (
                token TEXT PRIMARY KEY,
                order_id TEXT NOT NULL UNIQUE,
                ciphertext TEXT NOT NULL,
                brand TEXT NOT NULL,
                last4 TEXT NOT NULL,
                created_at TEXT NOT NULL
            )
            """,
        ]
    }

    /// Keeps `number` for `order` (once per order) and returns its token.
    @discardableResult
    static func store(order: String, number: String, keys: CardVaultKeys, in sql: any SQLDatabase) async throws -> String {
        if let token = try await sql.raw("SELECT token FROM card_vault WHERE order_id = \(bind: order)").first()?.decode(column: "token", as: String.self) {
            return token
        }
        let token = "card_" + UUID.random().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        let masked = MaskedCard(number: number)
        try await sql.raw("""
        INSERT INTO card_vault (token, order_id, ciphertext, brand, last4, created_at)
        VALUES (\(bind: token), \(bind: order), \(bind: try keys.encrypt(number)), \(bind: masked.brand), \(bind: masked.last4), \(bind: StorageClock.now()))
        """).run()
        return token
    }

    /// The number behind `token` (for a later charge or a refund to the card).
    static func number(token: String, keys: CardVaultKeys, in sql: any SQLDatabase) async throws -> String? {
        guard let stored = try await sql.raw("SELECT ciphertext FROM card_vault WHERE token = \(bind: token)").first()?.decode(column: "ciphertext", as: String.self) else {
            return nil
        }
        return try keys.decrypt(stored)
    }
}
