import CRdKafka
import Foundation

/// Builds the `rd_kafka_vu_t` list for one record and calls `rd_kafka_produceva`.
///
/// Key and value are passed in place; librdkafka copies them (`RD_KAFKA_MSG_F_COPY`).
enum RDKafkaProduce {
    static func produce(handle: OpaquePointer, message: KafkaProducerMessage, opaque: UnsafeMutableRawPointer?) -> KafkaError? {
        message.value.withUnsafeBytes { value in
            if let key = message.key {
                key.withUnsafeBytes { key in
                    produce(handle: handle, message: message, key: key, value: value, opaque: opaque)
                }
            } else {
                produce(handle: handle, message: message, key: nil, value: value, opaque: opaque)
            }
        }
    }

    private static func produce(
        handle: OpaquePointer, message: KafkaProducerMessage,
        key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer, opaque: UnsafeMutableRawPointer?
    ) -> KafkaError? {
        if message.headers.isEmpty {
            // Common fast path: no scratch buffer, the topic's C string is borrowed.
            return message.topic.withCString { topic in
                produceva(handle: handle, message: message, topic: topic, key: key, value: value, opaque: opaque, headers: nil)
            }
        }
        // Topic and header names need NUL-terminated C strings: pack them, with the header
        // values, into one scratch buffer. Layout: topic\0 (name\0 value)*
        var scratch = [UInt8]()
        scratch.reserveCapacity(message.topic.utf8.count + 1 + message.headers.reduce(0) { $0 + $1.key.utf8.count + 1 + ($1.value?.count ?? 0) })
        scratch.append(contentsOf: message.topic.utf8)
        scratch.append(0)
        var headerRanges: [(name: Int, value: Int, size: Int)] = []
        headerRanges.reserveCapacity(message.headers.count)
        for header in message.headers {
            let nameStart = scratch.count
            scratch.append(contentsOf: header.key.utf8)
            scratch.append(0)
            let valueStart = scratch.count
            if let value = header.value { scratch.append(contentsOf: value) }
            headerRanges.append((nameStart, valueStart, header.value.map { $0.count } ?? -1))
        }

        return scratch.withUnsafeMutableBufferPointer { buffer -> KafkaError? in
            let base = UnsafeMutableRawPointer(buffer.baseAddress!)
            let headers = headerRanges.map { range in
                (name: UnsafePointer((base + range.name).assumingMemoryBound(to: CChar.self)),
                 value: range.size >= 0 ? UnsafeRawPointer(base + range.value) : nil,
                 size: range.size)
            }
            return produceva(handle: handle, message: message, topic: UnsafePointer(base.assumingMemoryBound(to: CChar.self)),
                             key: key, value: value, opaque: opaque, headers: headers)
        }
    }

    private static func produceva(
        handle: OpaquePointer, message: KafkaProducerMessage, topic: UnsafePointer<CChar>,
        key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer, opaque: UnsafeMutableRawPointer?,
        headers: [(name: UnsafePointer<CChar>, value: UnsafeRawPointer?, size: Int)]?
    ) -> KafkaError? {
        withUnsafeTemporaryAllocation(of: rd_kafka_vu_t.self, capacity: 6 + (headers?.count ?? 0)) { fields in
            var count = 0
            func add(_ configure: (inout rd_kafka_vu_t) -> Void) {
                var field = rd_kafka_vu_t()
                configure(&field)
                fields.initializeElement(at: count, to: field)
                count += 1
            }
            add {
                $0.vtype = RD_KAFKA_VTYPE_TOPIC
                $0.u.cstr = topic
            }
            add {
                $0.vtype = RD_KAFKA_VTYPE_MSGFLAGS
                $0.u.i = RD_KAFKA_MSG_F_COPY
            }
            add {
                $0.vtype = RD_KAFKA_VTYPE_PARTITION
                $0.u.i32 = message.partition ?? RDKafkaConstant.unassignedPartition
            }
            add {
                $0.vtype = RD_KAFKA_VTYPE_VALUE
                $0.u.mem.ptr = UnsafeMutableRawPointer(mutating: value.baseAddress)
                $0.u.mem.size = value.count
            }
            if let key {
                add {
                    $0.vtype = RD_KAFKA_VTYPE_KEY
                    $0.u.mem.ptr = UnsafeMutableRawPointer(mutating: key.baseAddress)
                    $0.u.mem.size = key.count
                }
            }
            if let opaque {
                add {
                    $0.vtype = RD_KAFKA_VTYPE_OPAQUE
                    $0.u.ptr = opaque
                }
            }
            for header in headers ?? [] {
                add {
                    $0.vtype = RD_KAFKA_VTYPE_HEADER
                    $0.u.header.name = header.name
                    $0.u.header.val = header.value
                    $0.u.header.size = header.size
                }
            }
            defer { fields.baseAddress!.deinitialize(count: count) }
            guard let error = rd_kafka_produceva(handle, fields.baseAddress, count) else { return nil }
            return KafkaError.consuming(.produce, error, context: "produce to \(message.topic)")
        }
    }
}
