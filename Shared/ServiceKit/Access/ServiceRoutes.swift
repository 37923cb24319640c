import Hummingbird
import Synchronization

/// A service's routes, each registered with the scope it needs (or as open): the one place
/// routes are added, so none can be added without saying who may call it. `table` lists
/// them for the OpenAPI documents' tests.
public struct ServiceRoutes {
    public typealias Handler<Output: ResponseGenerator> = @Sendable (Request, BasicRequestContext) async throws -> Output

    /// One registered route.
    public struct Entry: Sendable, Hashable {
        public let method: HTTPRequest.Method
        public let path: String
        /// nil for an open route.
        public let scope: Scope?

        public init(method: HTTPRequest.Method, path: String, scope: Scope?) {
            self.method = method
            self.path = path
            self.scope = scope
        }
    }

    public let router: Router<BasicRequestContext>
    public let access: AccessControl
    let entries: RouteTable

    public init(router: Router<BasicRequestContext>, access: AccessControl, table: RouteTable = RouteTable()) {
        self.router = router
        self.access = access
        self.entries = table
    }

    /// Every route added so far, in order.
    public var table: [Entry] { entries.list.withLock { $0 } }

    @discardableResult
    public func get<Output: ResponseGenerator>(_ path: String, scope: Scope?, use handler: @escaping Handler<Output>) -> Self {
        add(.get, path, scope, handler)
    }

    @discardableResult
    public func post<Output: ResponseGenerator>(_ path: String, scope: Scope?, use handler: @escaping Handler<Output>) -> Self {
        add(.post, path, scope, handler)
    }

    @discardableResult
    public func put<Output: ResponseGenerator>(_ path: String, scope: Scope?, use handler: @escaping Handler<Output>) -> Self {
        add(.put, path, scope, handler)
    }

    @discardableResult
    public func delete<Output: ResponseGenerator>(_ path: String, scope: Scope?, use handler: @escaping Handler<Output>) -> Self {
        add(.delete, path, scope, handler)
    }

    fileprivate func add<Output: ResponseGenerator>(_ method: HTTPRequest.Method, _ path: String, _ scope: Scope?, _ handler: @escaping Handler<Output>) -> Self {
        entries.list.withLock { $0.append(Entry(method: method, path: path, scope: scope)) }
        if let scope {
            router.group().add(middleware: access.require(scope)).on(RouterPath(path), method: method, use: handler)
        } else {
            router.on(RouterPath(path), method: method, use: handler)
        }
        return self
    }
}

/// The routes a service registered, shared with the middleware that answers 405 for a
/// method a path does not have.
public final class RouteTable: Sendable {
    let list = Mutex<[ServiceRoutes.Entry]>([])

    public init() {}

    /// The methods registered for a path that matches `path` (`:name` matches one segment).
    public func methods(matching path: String) -> [HTTPRequest.Method] {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true)
        return list.withLock { entries in
            entries.filter { entry in
                let pattern = entry.path.split(separator: "/", omittingEmptySubsequences: true)
                return pattern.count == segments.count && zip(pattern, segments).allSatisfy { $0.hasPrefix(":") || $0 == $1 }
            }.map(\.method)
        }
    }
}
