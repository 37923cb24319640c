import Foundation
import Hummingbird

extension Parameters {
    /// The path parameter `name`, percent-decoded: Hummingbird's router hands path
    /// parameters over as they were sent (`%C3%A9`, not `é`), and an id is compared,
    /// measured and stored decoded. A broken encoding (`%ZZ`) is a 400 naming the parameter.
    public func decoded(_ name: String) throws -> String {
        let raw = try require(name)
        guard let text = raw.removingPercentEncoding else {
            throw APIError.badRequest("\(name) is not valid percent-encoding", code: "invalid-parameter")
        }
        return text
    }
}
