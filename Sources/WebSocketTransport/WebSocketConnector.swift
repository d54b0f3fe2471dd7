import Foundation
import Logging
import NIOSSL
import WSClient

/// Opens the project's client WebSockets (relay sessions, tfchain JSON-RPC): swift-websocket's
/// client, except for a `wss://` URL whose host is an IP address. That client always passes the
/// host to TLS as the server name, and an IP address may not be one (RFC 6066 §3; NIOSSL refuses
/// it), so such a connection goes through ``IPAddressWebSocketChannel``: no SNI, and the
/// certificate is checked against the address connected to (its IP SANs).
///
/// ```swift
/// let close = try await WebSocketConnector.connect(
///     url: "wss://127.0.0.1:8443/", configuration: .init(), tlsConfiguration: ClientTLS.configuration(), logger: logger
/// ) { inbound, outbound in
///     for try await message in inbound.messages(maxSize: 1 << 20) { _ = message }
/// }
/// ```
public enum WebSocketConnector {
    public typealias Handler = @Sendable (WebSocketInboundStream, WebSocketOutboundWriter) async throws -> Void

    @discardableResult
    public static func connect(url: String, configuration: WebSocketClientConfiguration, tlsConfiguration: TLSConfiguration?,
                               logger: Logger, handler: @escaping Handler) async throws -> WebSocketCloseFrame? {
        if let target = IPAddressTarget(url: url) {
            let channel = try IPAddressWebSocketChannel(target: target, configuration: configuration,
                                                        tlsConfiguration: tlsConfiguration ?? .makeClientConfiguration(), handler: handler)
            return try await ClientConnection(channel, address: .hostname(target.address, port: target.port), logger: logger).run()
        }
        return try await WebSocketClient.connect(url: url, configuration: configuration, tlsConfiguration: tlsConfiguration,
                                                 logger: logger) { inbound, outbound, _ in
            try await handler(inbound, outbound)
        }
    }
}

/// A `wss://` URL whose host is an IPv4 or IPv6 address.
struct IPAddressTarget: Equatable {
    /// The address without brackets.
    var address: String
    var port: Int
    /// Path and query, as sent in the request line.
    var target: String
    /// The `Host` header (IPv6 in brackets, the port when given).
    var hostHeader: String

    init?(url: String) {
        guard let components = URLComponents(string: url), components.scheme?.lowercased() == "wss",
              var host = components.host, !host.isEmpty else { return nil }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard Self.isIPAddress(host) else { return nil }
        address = host
        port = components.port ?? 443
        let path = components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath
        target = path + (components.percentEncodedQuery.map { "?" + $0 } ?? "")
        let bracketed = host.contains(":") ? "[\(host)]" : host
        hostHeader = components.port.map { "\(bracketed):\($0)" } ?? bracketed
    }

    static func isIPAddress(_ text: String) -> Bool {
        var v4 = in_addr(), v6 = in6_addr()
        return text.withCString { inet_pton(AF_INET, $0, &v4) == 1 || inet_pton(AF_INET6, $0, &v6) == 1 }
    }
}
