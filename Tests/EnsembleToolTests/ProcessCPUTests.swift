import Foundation
import Testing
@testable import Ensemble

/// How `ensemble bench saga` finds the services of a stack run with `ensemble up --processes`.
@Suite("Process CPU")
struct ProcessCPUTests {
    @Test("a service is read from its executable's name, ensemble-<service>; anything else is not one")
    func serviceNames() {
        #expect(ProcessCPU.service(ofProgram: "/work/main/.build/release/ensemble-payment") == "payment")
        #expect(ProcessCPU.service(ofProgram: "ensemble-aggregator") == "aggregator")
        for other in ["/work/main/.build/release/ensemble", "ensemble-", "/usr/bin/ensemble-Payment", "/x/ensemble-pay2", "/x/not-ensemble-payment", "/x/ensemble-payment/tansu"] {
            #expect(ProcessCPU.service(ofProgram: other) == nil, "\(other)")
        }
    }

    @Test("this process's CPU seconds are read and grow with work; no service processes run here")
    func cpuSeconds() throws {
        let pid = ProcessInfo.processInfo.processIdentifier
        let before = try #require(ProcessCPU.seconds(pid))
        var x: UInt64 = 1
        let deadline = ContinuousClock.now + .milliseconds(300)
        while ContinuousClock.now < deadline { for _ in 0..<10_000 { x = x &* 6364136223846793005 &+ 1 } }
        #expect(x != 0)
        let after = try #require(ProcessCPU.seconds(pid))
        #expect(after > before)
        #expect(ProcessCPU.seconds(of: ["self": [pid]])["self"].map { $0 >= after } == true)
    }
}
