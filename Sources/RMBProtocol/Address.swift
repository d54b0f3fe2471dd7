import SwiftProtobuf

/// Address text form used in Redis keys and JSON (`"<twin>"` or `"<twin>:<connection>"`).
extension RMBAddress {
    public init(twin: UInt32, connection: String? = nil) {
        self.init()
        self.twin = twin
        if let connection { self.connection = connection }
    }

    /// `"<twin>"` when no connection is set, `"<twin>:<connection>"` otherwise
    /// (a set-but-empty connection gives `"<twin>:"`, which parses back to the same address).
    public var text: String {
        hasConnection ? "\(twin):\(connection)" : String(twin)
    }

    /// Parses the text form. The twin part is base-10 `u32` without sign; everything after the
    /// first `:` is the connection (session id).
    public init(text: String) throws(AddressError) {
        let twinPart: Substring
        let connectionPart: Substring?
        if let colon = text.firstIndex(of: ":") {
            twinPart = text[..<colon]
            connectionPart = text[text.index(after: colon)...]
        } else {
            twinPart = Substring(text)
            connectionPart = nil
        }
        guard !twinPart.isEmpty, twinPart.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let twin = UInt32(twinPart) else {
            throw AddressError(text: text)
        }
        self.init(twin: twin, connection: connectionPart.map(String.init))
    }
}

/// A string that is not `"<twin>"` or `"<twin>:<connection>"`.
public struct AddressError: Error, Equatable, Sendable, CustomStringConvertible {
    public let text: String
    public var description: String { "invalid address '\(text.prefix(64))': expected \"<twin>\" or \"<twin>:<connection>\"" }
}
