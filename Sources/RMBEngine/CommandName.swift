/// Command names that may become Redis keys (`msgbus.<cmd>`): remote twins choose them, so they
/// are validated and the `system.` prefix (the peer's own control queues) is reserved
/// (known-gaps §7).
public enum CommandName {
    public static let maximumLength = 256

    /// nil when acceptable, otherwise the reason.
    public static func problem(with command: String) -> String? {
        if command.isEmpty { return "empty command" }
        if command.utf8.count > maximumLength { return "command longer than \(maximumLength) bytes" }
        if command.hasPrefix("system.") || command == "system" { return "command prefix 'system.' is reserved" }
        let allowed = command.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"),
                 UInt8(ascii: "-"), UInt8(ascii: ":"), UInt8(ascii: "/"): true
            default: false
            }
        }
        return allowed ? nil : "command may only contain letters, digits and . _ - : /"
    }
}
