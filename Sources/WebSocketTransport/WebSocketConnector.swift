import Foundation
import Logging
import NIOSSL
import TLSSupport
import WSClient

/// Opens the project's client WebSockets (relay sessions, tfchain JSON-RPC) through
/// ``ClientWebSocketChannel``, our own small pipeline around swift-websocket's frame handling,
/// for two things its `WebSocketClient` cannot do:
/// - a `wss://` host that is an IP address: it always passes the host to TLS as the server
///   name, and an IP address may not be one (RFC 6066 §3; NIOSSL refuses it). Here such a
///   connection sends no server name and the certificate is checked against the address.
/// - cancellation before the upgrade is answered: its connect waits for the answer however
///   long a hung server takes. Here cancelling closes the connection, so a caller can bound
///   the handshake.
///
/// ```swift
/// let close = try await WebSocketConnector.connect(
///     url: "wss://127.0.0.1:8443/", configuration: .init(), tlsConfiguration: ClientTLS.configuration(), logger: logger
/// ) { inbound, outbound in
///     for try await message in inbound.messages(maxSize: 1 << 20) { _ = message }
/// }
/// ```
public enum WebSocketConnector {
    public typealias Handler = @Sendable (WebSocketInboundStream, WebSocketOutbound) async throws -> Void

    /// Connects to `url` (`ws://` or `wss://`; `http(s)://` taken as the same), runs `handler` on the session and returns the
    /// server's close frame, if any. `tlsConfiguration` is used for `wss://` (default: the
    /// system's roots).
    @discardableResult
    public static func connect(url: String, configuration: WebSocketClientConfiguration, tlsConfiguration: TLSConfiguration?,
                               logger: Logger, handler: @escaping Handler) async throws -> WebSocketCloseFrame? {
        guard let target = WebSocketTarget(url: url) else { throw WebSocketClientError.invalidURL }
        let channel = try ClientWebSocketChannel(target: target, configuration: configuration,
                                                 tlsConfiguration: target.secure ? tlsConfiguration ?? .makeClientConfiguration() : nil,
                                                 handler: handler)
        return try await ClientConnection(channel, address: .hostname(target.address, port: target.port), logger: logger).run()
    }
}

/// Where a WebSocket URL leads.
struct WebSocketTarget: Equatable {
    /// The host to connect to (an IPv6 address without brackets).
    var address: String
    var port: Int
    var secure: Bool
    /// The TLS server name: the host, or nil for an IP address.
    var serverName: String?
    /// Path and query, as sent in the request line.
    var target: String
    /// The `Host` header (IPv6 in brackets, the port when given).
    var hostHeader: String

    init?(url: String) {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
              ["ws", "wss", "http", "https"].contains(scheme), var host = components.host, !host.isEmpty else { return nil }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        address = host
        secure = scheme == "wss" || scheme == "https"
        port = components.port ?? (secure ? 443 : 80)
        serverName = IPAddressLiteral.matches(host) ? nil : host
        let path = components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath
        target = path + (components.percentEncodedQuery.map { "?" + $0 } ?? "")
        let bracketed = host.contains(":") ? "[\(host)]" : host
        hostHeader = components.port.map { "\(bracketed):\($0)" } ?? bracketed
    }
}
