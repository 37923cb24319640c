/// The one error type of `Storage`.
public struct StorageError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        private init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// The database could not be opened or reached.
        public static let unavailable = Code("unavailable")
        /// A migration failed; the schema is left at the last good version.
        public static let migrationFailed = Code("migration-failed")
        /// A stored row could not be read back.
        public static let corruptRow = Code("corrupt-row")
    }

    public let code: Code
    public let message: String

    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
