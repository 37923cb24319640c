import ArgumentParser
import Configuration
import ServiceKit

/// `ensemble vault-key`: a payment vault key and the public key that seals cards for it.
struct VaultKeyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vault-key",
        abstract: "Print a new PAYMENT_VAULT_KEY and its CARD_SEALING_KEY, or the CARD_SEALING_KEY of the PAYMENT_VAULT_KEY set.",
        discussion: """
        The payment service keeps PAYMENT_VAULT_KEY (it opens sealed cards and encrypts the
        numbers it keeps); the orchestrator gets only CARD_SEALING_KEY, which seals cards
        for that vault and cannot open them. `ensemble up` makes its own pair.
        """
    )

    func run() throws {
        let reader = ConfigReader(provider: EnvironmentVariablesProvider())
        if let secret = reader.string(forKey: "payment.vault.key", isSecret: true) {
            print("CARD_SEALING_KEY=\(try CardVaultKeys(secret: secret).sealer.publicKeyText)")
            return
        }
        let secret = CardVaultKeys.newSecret()
        print("PAYMENT_VAULT_KEY=\(secret)")
        print("CARD_SEALING_KEY=\(try CardVaultKeys(secret: secret).sealer.publicKeyText)")
    }
}
