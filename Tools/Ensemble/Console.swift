import Foundation

/// Writes for a person at the terminal, unbuffered so it shows up in order with the logs.
enum Console {
    static func say(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }
}
