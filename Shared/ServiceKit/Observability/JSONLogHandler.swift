import Foundation
import Logging
import Messaging
import Synchronization

/// A `LogHandler` that writes one JSON object per line:
/// `{"ts":"...","level":"info","service":"payment","message":"...","order.id":"..."}`.
///
/// Lines are written whole, under a lock, so that concurrent loggers never interleave.
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let output: Output

    /// Where lines go; `standardError` keeps stdout free for a command's own output.
    public final class Output: Sendable {
        private let write: @Sendable (Data) -> Void
        private let lock = Mutex(())

        public init(_ write: @escaping @Sendable (Data) -> Void) {
            self.write = write
        }

        public static let standardError = Output { FileHandle.standardError.write($0) }
        public static let standardOutput = Output { FileHandle.standardOutput.write($0) }

        func emit(_ line: Data) {
            lock.withLock { _ in write(line) }
        }
    }

    public init(label: String, output: Output = .standardError, metadataProvider: Logger.MetadataProvider? = nil) {
        self.label = label
        self.output = output
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }

        var object: [String: Any] = [
            "ts": Self.timestamp(Date()),
            "level": event.level.rawValue,
            "logger": label,
            "message": event.message.description,
        ]
        for (key, value) in merged where object[key] == nil {
            object[key] = Self.json(value)
        }
        if event.level >= .warning {
            object["source"] = "\(event.file.split(separator: "/").last ?? ""):\(event.line)"
        }
        guard var line = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else { return }
        line.append(0x0A)
        output.emit(line)
    }

    private static func json(_ value: Logger.MetadataValue) -> Any {
        switch value {
        case .string(let text): text
        case .stringConvertible(let value): value.description
        case .array(let values): values.map(json)
        case .dictionary(let values): values.mapValues(json)
        }
    }

    private static func timestamp(_ date: Date) -> String { RFC3339.format(date) }
}
