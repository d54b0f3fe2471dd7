/// One relay endpoint of a twin.
///
/// On tfchain a relay is a bare DNS name and always means TLS: WebSocket at
/// `wss://host/`, federation at `https://host/` (twins.md §1). Local twin files (tests, demo
/// networks, private deployments) also need ports and plain HTTP, so ``init(parsing:)``
/// accepts `host`, `host:port`, `https://…`, `http://…`, `wss://…`, `ws://…` (`ws` means the
/// same as `http`, `wss` the same as `https`), optionally followed by a single `/`.
///
/// A bare `host` or `host:port` is **secure**, like on chain; write `http://` to get plain
/// HTTP. Hosts are lowercased and a port equal to the scheme's default (443 / 80) is
/// dropped, so equal endpoints compare equal and ``canonical`` is stable.
public struct RelayAddress: Sendable, Hashable, CustomStringConvertible {
    /// Lowercase DNS name, IPv4 literal, or IPv6 literal without brackets.
    public let host: String
    /// Explicit, non-default port; `nil` means 443 (secure) or 80 (plain).
    public let port: UInt16?
    /// `true` for TLS (`https`/`wss`), `false` for plain `http`/`ws`.
    public let isSecure: Bool

    /// Builds an address from already-split parts, validating them like ``init(parsing:)``.
    public init(host: String, port: UInt16? = nil, isSecure: Bool = true) throws(RelayAddressError) {
        if port == 0 { throw .invalidPort(host, "0") }
        self.init(validatedHost: try Self.validatedHost(host, original: host), port: port, isSecure: isSecure)
    }

    /// Stores already-validated parts, dropping a port equal to the scheme's default.
    init(validatedHost: String, port: UInt16?, isSecure: Bool) {
        self.host = validatedHost
        self.isSecure = isSecure
        self.port = port == (isSecure ? 443 : 80) ? nil : port
    }

    /// The port actually used for connections.
    public var effectivePort: UInt16 { port ?? (isSecure ? 443 : 80) }

    /// `host[:port]`, with brackets around IPv6 literals.
    public var authority: String {
        let bracketed = host.contains(":") ? "[\(host)]" : host
        return port.map { "\(bracketed):\($0)" } ?? bracketed
    }

    /// Where peers connect: `wss://host[:port]/` or `ws://host[:port]/`.
    public var websocketURL: String { (isSecure ? "wss://" : "ws://") + authority + "/" }

    /// Where other relays POST federated envelopes: `https://host[:port]/` or `http://host[:port]/`.
    public var federationURL: String { (isSecure ? "https://" : "http://") + authority + "/" }

    /// Shortest text that parses back to this value: `host[:port]` when secure (for a
    /// portless DNS name that is exactly the chain's form), `http://host[:port]` otherwise.
    public var canonical: String { isSecure ? authority : "http://" + authority }

    /// Whether this address can be stored in the chain's relay field (secure, default port,
    /// DNS name accepted by tfchain's check).
    public var isChainCompatible: Bool { chainIncompatibility == nil }

    public var description: String { canonical }
}

extension RelayAddress: Codable {
    /// Encoded as its ``canonical`` string so files and JSON stay human-readable.
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do {
            try self.init(parsing: text)
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.description))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(canonical)
    }
}

/// Why text is not a relay address. Descriptions are single lines for CLI output.
public enum RelayAddressError: Error, Equatable, Sendable, CustomStringConvertible {
    case empty
    case unsupportedScheme(String)
    /// Paths, queries, fragments or user info: a relay is only scheme, host and port.
    case unexpectedSuffix(String)
    case invalidHost(String, String)
    case invalidPort(String, String)

    public var description: String {
        switch self {
        case .empty: "empty relay address"
        case let .unsupportedScheme(text): "relay address \(String(reflecting: text)): scheme must be https, http, wss or ws"
        case let .unexpectedSuffix(text): "relay address \(String(reflecting: text)): only [scheme://]host[:port] is allowed (no path, query or user info)"
        case let .invalidHost(text, why): "relay address \(String(reflecting: text)): invalid host: \(why)"
        case let .invalidPort(text, port): "relay address \(String(reflecting: text)): invalid port \(String(reflecting: port)) (expected 1-65535)"
        }
    }
}
