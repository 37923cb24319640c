import CRdKafka
import Foundation

/// Builds the `rd_kafka_vu_t` list for one record and calls `rd_kafka_produceva`.
///
/// All variable-length fields (topic, key, value, header names and values) are packed
/// into one scratch buffer so a record costs one allocation besides librdkafka's own
/// copy (`RD_KAFKA_MSG_F_COPY`).
enum RDKafkaProduce {
    static func produce(handle: OpaquePointer, message: KafkaProducerMessage, opaque: UnsafeMutableRawPointer?) -> KafkaError? {
        // Layout: topic\0 | key | value | (name\0 value)*
        var scratch = [UInt8]()
        scratch.reserveCapacity(message.topic.utf8.count + 1 + (message.key?.count ?? 0) + message.value.count
            + message.headers.reduce(0) { $0 + $1.key.utf8.count + 1 + ($1.value?.count ?? 0) })
        scratch.append(contentsOf: message.topic.utf8)
        scratch.append(0)
        let keyStart = scratch.count
        if let key = message.key { scratch.append(contentsOf: key) }
        let valueStart = scratch.count
        scratch.append(contentsOf: message.value)
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
            var fields = [rd_kafka_vu_t](repeating: rd_kafka_vu_t(), count: 6 + headerRanges.count)
            var count = 0
            func add(_ configure: (inout rd_kafka_vu_t) -> Void) {
                configure(&fields[count])
                count += 1
            }
            add {
                $0.vtype = RD_KAFKA_VTYPE_TOPIC
                $0.u.cstr = UnsafePointer(base.assumingMemoryBound(to: CChar.self))
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
                $0.u.mem.ptr = base + valueStart
                $0.u.mem.size = message.value.count
            }
            if let key = message.key {
                add {
                    $0.vtype = RD_KAFKA_VTYPE_KEY
                    $0.u.mem.ptr = base + keyStart
                    $0.u.mem.size = key.count
                }
            }
            if let opaque {
                add {
                    $0.vtype = RD_KAFKA_VTYPE_OPAQUE
                    $0.u.ptr = opaque
                }
            }
            for range in headerRanges {
                add {
                    $0.vtype = RD_KAFKA_VTYPE_HEADER
                    $0.u.header.name = UnsafePointer((base + range.name).assumingMemoryBound(to: CChar.self))
                    $0.u.header.val = range.size >= 0 ? UnsafeRawPointer(base + range.value) : nil
                    $0.u.header.size = range.size
                }
            }
            guard let error = rd_kafka_produceva(handle, fields, count) else { return nil }
            return KafkaError.consuming(.produce, error, context: "produce to \(message.topic)")
        }
    }
}
