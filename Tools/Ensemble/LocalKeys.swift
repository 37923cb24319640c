import Crypto
import Foundation
import ServiceKit

/// The secrets of a local stack, made by `ensemble up` on its first run when the
/// environment gives none and kept in `.ensemble/keys.json` (readable by its owner only):
/// the token signing secret and the payment vault's key. The CLI mints its tokens from the
/// same file, so commands run next to `make up` need no setting.
struct LocalKeys: Codable, Sendable {
    var tokenSecret: String
    /// `PAYMENT_VAULT_KEY` of the local stack (added to a file made before the vault existed).
    var vaultKey: String?

    static let path = ".ensemble/keys.json"

    /// The file's keys, if it exists and reads.
    static func load(path: String = path) -> LocalKeys? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try? JSONDecoder().decode(LocalKeys.self, from: data)
    }

    /// The file's keys, made (random, 256 bits each) when there is none yet.
    static func loadOrCreate(path: String = path) throws -> (keys: LocalKeys, created: Bool) {
        if let keys = load(path: path), keys.vaultKey != nil { return (keys, false) }
        let keys = LocalKeys(tokenSecret: load(path: path)?.tokenSecret ?? randomSecret(), vaultKey: CardVaultKeys.newSecret())
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try? FileManager.default.removeItem(atPath: path)
        guard FileManager.default.createFile(atPath: path, contents: try encoder.encode(keys), attributes: [.posixPermissions: 0o600]) else {
            throw CLIError("cannot write the local stack's keys to \(path)")
        }
        return (keys, true)
    }

    /// 32 random bytes, base64url without padding.
    static func randomSecret() -> String {
        let key = SymmetricKey(size: .bits256)
        return key.withUnsafeBytes { Data($0) }.base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
}
