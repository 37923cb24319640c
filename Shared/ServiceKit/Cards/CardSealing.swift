import Contracts
import Crypto
import Foundation

/// Seals card numbers for the payment vault at the order intake, with the vault's public
/// key (HPKE: X25519, HKDF-SHA256, ChaCha20-Poly1305). The intake can seal but never open:
/// from the moment an order is accepted, no service but payment can read its card, and the
/// intake needs nothing from payment at that moment (no call, no availability).
public struct CardSealer: Sendable {
    static let ciphersuite = HPKE.Ciphersuite.Curve25519_SHA256_ChachaPoly
    static let info = Data("ensemble payment card v1".utf8)

    let publicKey: Curve25519.KeyAgreement.PublicKey

    /// From the vault's public key (`CARD_SEALING_KEY`, base64 of its 32 raw bytes).
    public init(publicKey base64: String) throws(ServiceKitError) {
        guard let data = Data(base64Encoded: base64.trimmingCharacters(in: .whitespacesAndNewlines)),
              let key = try? Curve25519.KeyAgreement.PublicKey(rawRepresentation: data)
        else { throw .invalid("CARD_SEALING_KEY", "(\(base64.count) characters)", expected: "the payment vault's public key, base64 of 32 bytes (ensemble vault-key prints it)") }
        publicKey = key
    }

    init(publicKey: Curve25519.KeyAgreement.PublicKey) {
        self.publicKey = publicKey
    }

    /// `number` sealed: `sealed:v1:` and the base64url of the encapsulated key and the ciphertext.
    public func seal(_ number: String) throws -> PaymentCard {
        var sender = try HPKE.Sender(recipientKey: publicKey, ciphersuite: Self.ciphersuite, info: Self.info)
        let ciphertext = try sender.seal(Data(number.utf8))
        return .sealed(PaymentCard.sealedPrefix + (sender.encapsulatedKey + ciphertext).base64URLEncoded)
    }

    /// The public key as `CARD_SEALING_KEY` holds it.
    public var publicKeyText: String { publicKey.rawRepresentation.base64EncodedString() }
}

/// The payment vault's keys, all derived from one secret (`PAYMENT_VAULT_KEY`, base64 of
/// 32 bytes): the private key that opens sealed cards, and the AES-GCM key the vault
/// encrypts stored numbers with.
public struct CardVaultKeys: Sendable {
    let privateKey: Curve25519.KeyAgreement.PrivateKey
    /// Encrypts numbers at rest (AES-GCM, 256 bits).
    public let storageKey: SymmetricKey

    public init(secret base64: String) throws(ServiceKitError) {
        guard let data = Data(base64Encoded: base64.trimmingCharacters(in: .whitespacesAndNewlines)), data.count == 32 else {
            throw .invalid("PAYMENT_VAULT_KEY", "(\(base64.count) characters)", expected: "base64 of 32 random bytes (openssl rand -base64 32)")
        }
        let master = SymmetricKey(data: data)
        func derive(_ label: String) -> SymmetricKey {
            HKDF<SHA256>.deriveKey(inputKeyMaterial: master, info: Data(label.utf8), outputByteCount: 32)
        }
        // Any 32 bytes are an X25519 private key: this cannot throw.
        privateKey = try! Curve25519.KeyAgreement.PrivateKey(rawRepresentation: derive("ensemble card sealing").withUnsafeBytes { Data($0) })
        storageKey = derive("ensemble card vault at rest")
    }

    /// The sealer for this vault (what the intake is configured with).
    public var sealer: CardSealer { CardSealer(publicKey: privateKey.publicKey) }

    /// The number inside a sealed card; a plain number as it is.
    public func open(_ card: PaymentCard) throws(ServiceKitError) -> String {
        guard case .sealed(let text) = card else { return card.text }
        guard let bytes = Data(base64URLEncoded: String(text.dropFirst(PaymentCard.sealedPrefix.count))), bytes.count > 32 else {
            throw ServiceKitError(code: .invalidConfiguration, message: "the sealed card is not in the sealed:v1 shape")
        }
        do {
            var recipient = try HPKE.Recipient(privateKey: privateKey, ciphersuite: CardSealer.ciphersuite, info: CardSealer.info, encapsulatedKey: bytes.prefix(32))
            let plaintext = try recipient.open(bytes.dropFirst(32))
            return String(decoding: plaintext, as: UTF8.self)
        } catch {
            throw ServiceKitError(code: .invalidConfiguration, message: "the sealed card does not open with this vault's key (sealed for another PAYMENT_VAULT_KEY?)")
        }
    }

    /// `number` encrypted for storage (AES-GCM, nonce and tag included), base64.
    public func encrypt(_ number: String) throws -> String {
        try AES.GCM.seal(Data(number.utf8), using: storageKey).combined!.base64EncodedString()
    }

    /// A number stored by `encrypt`.
    public func decrypt(_ stored: String) throws -> String {
        guard let data = Data(base64Encoded: stored) else { throw ServiceKitError(code: .invalidConfiguration, message: "a vault entry is not base64") }
        return String(decoding: try AES.GCM.open(AES.GCM.SealedBox(combined: data), using: storageKey), as: UTF8.self)
    }

    /// A new vault secret (what `ensemble up` makes for a local stack).
    public static func newSecret() -> String {
        SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }.base64EncodedString()
    }
}

extension Data {
    var base64URLEncoded: String {
        base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    init?(base64URLEncoded text: String) {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        self.init(base64Encoded: base64)
    }
}
