import Synchronization

/// Decoded JSON documents kept by key and reused while the stored text is the same.
///
/// A hit compares the text read from the database with the text the value was decoded
/// from (or encoded to), so the cache can never hand out a value the database does not
/// hold: a write that rolled back, or one made by another process, changes the text and the
/// next read decodes again. What it saves is the decoding, which for a saga document is
/// most of the cost of reading it. Bounded: when `capacity` is reached the older half of
/// the entries goes (two generations, a cheap approximation of least-recently-used).
public final class DocumentCache<Value: Sendable>: Sendable {
    private struct Generations {
        var current: [String: Entry] = [:]
        var previous: [String: Entry] = [:]
    }

    private struct Entry {
        let text: String
        let value: Value
    }

    private let generations = Mutex(Generations())
    private let capacity: Int

    public init(capacity: Int = 4096) {
        self.capacity = max(2, capacity)
    }

    /// The value `text` decodes to: cached if `key` was last seen with this very text,
    /// otherwise decoded by `decode` and remembered.
    public func value(_ key: String, text: String, decode: (String) throws -> Value) rethrows -> Value {
        if let hit = lookup(key, text: text) { return hit }
        let value = try decode(text)
        remember(key, text: text, value: value)
        return value
    }

    /// Remembers that `key` now holds `text`, which is `value` (after encoding it for a write).
    public func remember(_ key: String, text: String, value: Value) {
        let entry = Entry(text: text, value: value)
        generations.withLock { generations in
            generations.current[key] = entry
            if generations.current.count >= capacity / 2 {
                generations.previous = generations.current
                generations.current = [:]
            }
        }
    }

    public func forget(_ key: String) {
        generations.withLock { generations in
            generations.current.removeValue(forKey: key)
            generations.previous.removeValue(forKey: key)
        }
    }

    private func lookup(_ key: String, text: String) -> Value? {
        generations.withLock { generations in
            if let entry = generations.current[key] {
                return entry.text == text ? entry.value : nil
            }
            guard let entry = generations.previous[key], entry.text == text else { return nil }
            // Still in use: keep it through the next turnover.
            generations.current[key] = entry
            return entry.value
        }
    }
}
