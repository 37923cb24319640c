import ArgumentParser
import Configuration
import Foundation
import ServiceKit

/// `ensemble token`: a bearer token for the services' APIs.
struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Mint a bearer token for the services' HTTP APIs.",
        discussion: """
        Signs with AUTH_JWT_SECRET (or the file AUTH_JWT_SECRET_FILE names), or with the
        local stack's key in .ensemble/keys.json, which `ensemble up` creates. Scopes:
        \(Scope.allCases.map(\.rawValue).joined(separator: ", ")).
        Example: export ENSEMBLE_TOKEN=$(ensemble token --scopes orders:write,orders:read)
        """
    )

    @Option(help: "Scopes, separated by commas or spaces (default: all).")
    var scopes: String?

    @Option(help: "Who the token is for (the sub claim).")
    var subject = "ensemble-cli"

    @Option(help: "Lifetime in seconds.")
    var lifetime = 86_400

    func validate() throws {
        guard lifetime > 0 else { throw ValidationError("--lifetime must be positive") }
    }

    func run() async throws {
        let list = try scopes.map { text throws(ServiceKitError) in try Scope.parseList(text) } ?? Scope.allCases
        guard !list.isEmpty else { throw ValidationError("--scopes names no scope") }
        let reader = ConfigReader(provider: EnvironmentVariablesProvider())
        let secret: String
        switch try AccessSettings.read(reader)?.mode {
        case .tokens(let configured)?: secret = configured
        case .off?: throw CLIError("AUTH=off: the services take no tokens")
        case nil:
            guard let local = LocalKeys.load()?.tokenSecret else {
                throw CLIError("no signing secret: set AUTH_JWT_SECRET (or AUTH_JWT_SECRET_FILE), or run `ensemble up` here once to create \(LocalKeys.path)")
            }
            secret = local
        }
        let tokens = try await AccessTokens.make(secret: secret)
        print(try await tokens.issue(subject: subject, scopes: list, lifetime: .seconds(lifetime)))
    }
}
