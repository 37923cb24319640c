import AsyncHTTPClient
import Configuration
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import ServiceKit
import Synchronization

/// The `Authorization` header the CLI sends: `ENSEMBLE_TOKEN` when set; otherwise a token
/// it mints for itself (every scope, 15 minutes) from the signing secret in the environment
/// (`AUTH_JWT_SECRET` / `AUTH_JWT_SECRET_FILE`) or from the local stack's `.ensemble/keys.json`;
/// none when there is neither (a stack with `AUTH=off`).
enum CLIToken {
    private static let minted = Mutex<String?>(nil)

    static func authorization(environment: [String: String] = ProcessInfo.processInfo.environment) async -> String? {
        if let token = environment["ENSEMBLE_TOKEN"], !token.isEmpty { return "Bearer \(token)" }
        if let cached = minted.withLock({ $0 }) { return cached }
        guard let secret = secret(environment), let tokens = try? await AccessTokens.make(secret: secret),
              let token = try? await tokens.issue(subject: "ensemble-cli", scopes: Scope.allCases, lifetime: .seconds(900))
        else { return nil }
        let header = "Bearer \(token)"
        minted.withLock { $0 = header }
        return header
    }

    private static func secret(_ environment: [String: String]) -> String? {
        let reader = ConfigReader(provider: EnvironmentVariablesProvider(environmentVariables: environment))
        if case .tokens(let secret)? = (try? AccessSettings.read(reader))??.mode { return secret }
        return LocalKeys.load()?.tokenSecret
    }
}

extension URLRequest {
    /// Adds the CLI's `Authorization` header, when it has one.
    mutating func authorize() async {
        if let header = await CLIToken.authorization() { setValue(header, forHTTPHeaderField: "Authorization") }
    }

    /// A request for `url`, with the CLI's `Authorization` header.
    static func authorized(_ url: URL) async -> URLRequest {
        var request = URLRequest(url: url)
        await request.authorize()
        return request
    }
}

extension HTTPClientRequest {
    /// Adds the CLI's `Authorization` header, when it has one.
    mutating func authorize() async {
        if let header = await CLIToken.authorization() { headers.replaceOrAdd(name: "Authorization", value: header) }
    }
}
