import AsyncHTTPClient
import Foundation
import Testing
@testable import Ensemble

/// What the CLI says when the orchestrator is not there: one short line.
@Suite("Orchestrator client errors")
struct OrchestratorClientTests {
    @Test("a refused connection reads 'connection refused', without NIO's errno text")
    func refused() async throws {
        let client = try OrchestratorClient(url: "http://127.0.0.1:\(try Self.closedPort())")
        do {
            _ = try await client.breakers()
            Issue.record("a request to a closed port answered")
        } catch let error as CLIError {
            let text = "\(error)"
            #expect(text.contains("did not answer (connection refused)"), "\(text)")
            #expect(!text.contains("errno"), "\(text)")
        }
    }

    @Test("time-outs and closed connections get a few words too")
    func timeouts() {
        #expect(CLIHTTP.reason(HTTPClientError.deadlineExceeded) == "no answer in time")
        #expect(CLIHTTP.reason(HTTPClientError.connectTimeout) == "the connection timed out")
        #expect(CLIHTTP.reason(HTTPClientError.remoteConnectionClosed) == "the connection was closed")
    }

    /// A loopback port nothing listens on: bound by the kernel's choice, then closed.
    static func closedPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EBADF) }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw POSIXError(.EADDRINUSE) }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
