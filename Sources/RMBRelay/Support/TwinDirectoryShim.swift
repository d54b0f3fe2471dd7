import RMBIdentity

// Temporary stand-in for the `TwinDirectory` target's API (branch `twins`). Delete this file
// when that branch is merged and `import TwinDirectory` instead; the names and shapes match.

/// Resolves twins (tfchain, a local file, or a cache in front of either).
public protocol TwinDirectory: Sendable {
    func twin(id: UInt32) async throws -> Twin?
    func twinID(account: AccountID) async throws -> UInt32?
}

/// A twin record: id, account (signing public key), relays and optional e2e key.
public struct Twin: Sendable, Equatable {
    public var id: UInt32
    public var account: AccountID
    public var relays: [RelayAddress]
    public var e2ePublicKey: [UInt8]?

    public init(id: UInt32, account: AccountID, relays: [RelayAddress], e2ePublicKey: [UInt8]? = nil) {
        self.id = id; self.account = account; self.relays = relays; self.e2ePublicKey = e2ePublicKey
    }
}

/// One relay entry: a chain host (`relay.example.com` → `https://…/`), optionally with a port,
/// or `http://host:port` / `ws://host:port` for local networks (no TLS).
public struct RelayAddress: Sendable, Hashable {
    public var host: String
    public var port: Int?
    public var isSecure: Bool

    public init(host: String, port: Int? = nil, isSecure: Bool = true) {
        self.host = host; self.port = port; self.isSecure = isSecure
    }

    public init?(parsing text: String) {
        var rest = Substring(text)
        var secure = true
        for (scheme, isSecure) in [("https://", true), ("wss://", true), ("http://", false), ("ws://", false)] where rest.hasPrefix(scheme) {
            rest = rest.dropFirst(scheme.count)
            secure = isSecure
        }
        while rest.hasSuffix("/") { rest = rest.dropLast() }
        guard !rest.isEmpty else { return nil }
        if let colon = rest.lastIndex(of: ":"), let port = Int(rest[rest.index(after: colon)...]), (1...65535).contains(port) {
            self.init(host: String(rest[..<colon]), port: port, isSecure: secure)
        } else {
            self.init(host: String(rest), port: nil, isSecure: secure)
        }
    }

    private var authority: String { port.map { "\(host):\($0)" } ?? host }
    public var websocketURL: String { (isSecure ? "wss://" : "ws://") + authority + "/" }
    public var federationURL: String { (isSecure ? "https://" : "http://") + authority + "/" }
}
