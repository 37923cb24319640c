/// What a bearer token allows. Every protected route names the one scope it needs; a token
/// carries the scopes it was issued with (the `scope` claim, space-separated, as in OAuth).
public enum Scope: String, Sendable, Hashable, CaseIterable, Codable {
    case ordersWrite = "orders:write"
    case ordersRead = "orders:read"
    case profilesRead = "profiles:read"
    case profilesWrite = "profiles:write"
    case inventoryRead = "inventory:read"
    case inventoryWrite = "inventory:write"
    case paymentsRead = "payments:read"
    case paymentsWrite = "payments:write"
    case shipmentsRead = "shipments:read"
    /// Operating the system: saga definitions, fault injection, rebuilds, stopping a service.
    case admin

    /// Parses `orders:write profiles:read` (spaces or commas); throws naming an unknown one.
    public static func parseList(_ text: String) throws(ServiceKitError) -> [Scope] {
        var scopes: [Scope] = []
        for name in text.split(whereSeparator: { $0 == " " || $0 == "," }) where !name.isEmpty {
            guard let scope = Scope(rawValue: String(name)) else {
                throw ServiceKitError(code: .unknownScope, message: "'\(name)' is not a scope; scopes are \(Scope.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            if !scopes.contains(scope) { scopes.append(scope) }
        }
        return scopes
    }
}
