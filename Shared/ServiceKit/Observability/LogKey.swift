/// Metadata keys of Ensemble's log lines, so every service spells them the same way
/// (swift-log: fixed message text, values in metadata).
public enum LogKey {
    public static let service = "service"
    public static let error = "error"
    public static let restarts = "restarts"
    public static let restartIn = "restart.in"
    public static let faults = "faults"
    public static let httpPort = "http.port"
    public static let orderID = "order.id"
    public static let messageType = "message.type"
    public static let reason = "reason"
}
