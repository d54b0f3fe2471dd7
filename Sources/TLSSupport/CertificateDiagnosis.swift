import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS

/// Why a server's certificate was refused, in words a user can act on. BoringSSL reports every
/// chain failure as `CERTIFICATE_VERIFY_FAILED`; after such a failure this fetches the
/// certificate the server presents (a second handshake that verifies nothing and sends
/// nothing) and names what is wrong with it: expired, not yet valid, or — its dates being fine
/// — most likely issued by a CA that is not trusted.
public enum CertificateDiagnosis {
    /// The failure text to show for `error` on a connection to `url` (`wss://…`, `https://…`):
    /// `error`'s own text, with the reason appended when it is a certificate verification failure.
    public static func describe(_ error: any Error, url: String, now: Date = Date()) async -> String {
        let text = String(describing: error)
        guard text.contains("CERTIFICATE_VERIFY_FAILED"), let components = URLComponents(string: url), var host = components.host else {
            return text
        }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        let port = components.port ?? 443
        guard let certificate = await presentedCertificate(host: host, port: port) else { return text }
        return "\(reason(certificate, server: "\(host):\(port)", now: now)) (\(text))"
    }

    static func reason(_ certificate: NIOSSLCertificate, server: String, now: Date) -> String {
        let seconds = time_t(now.timeIntervalSince1970)
        if certificate.notValidAfter < seconds {
            return "the certificate of \(server) expired on \(format(certificate.notValidAfter))"
        }
        if certificate.notValidBefore > seconds {
            return "the certificate of \(server) is not valid before \(format(certificate.notValidBefore))"
        }
        return "the certificate of \(server) is not trusted: its dates are valid, so most likely its issuer is not among the trusted roots (a private CA can be added with --ca-file or SSL_CERT_FILE)"
    }

    private static func format(_ time: time_t) -> String {
        Date(timeIntervalSince1970: TimeInterval(time)).formatted(.iso8601)
    }

    /// The leaf certificate `host:port` presents, or nil (unreachable, no TLS, 3-s bound).
    static func presentedCertificate(host: String, port: Int) async -> NIOSSLCertificate? {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.certificateVerification = .none
        configuration.shutdownTimeout = .milliseconds(ClientTLS.shutdownTimeout)
        guard let context = try? NIOSSLContext(configuration: configuration) else { return nil }
        let serverName = IPAddressLiteral.matches(host) ? nil : host
        let group = MultiThreadedEventLoopGroup.singleton
        let handshake = group.next().makePromise(of: NIOSSLCertificate?.self)
        let bootstrap = ClientBootstrap(group: group)
            .connectTimeout(.seconds(3))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: serverName))
                    try channel.pipeline.syncOperations.addHandler(HandshakeWatcher(promise: handshake))
                }
            }
        do {
            let channel = try await bootstrap.connect(host: host, port: port).get()
            channel.eventLoop.scheduleTask(in: .seconds(3)) { handshake.succeed(nil) }
            let certificate = try? await handshake.futureResult.get()
            try? await channel.close()
            return certificate
        } catch {
            handshake.succeed(nil)
            return nil
        }
    }

    /// Completes `promise` with the peer's certificate once the handshake is done (nil when the
    /// connection ends first).
    private final class HandshakeWatcher: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = ByteBuffer
        let promise: EventLoopPromise<NIOSSLCertificate?>

        init(promise: EventLoopPromise<NIOSSLCertificate?>) { self.promise = promise }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if case TLSUserEvent.handshakeCompleted = event {
                promise.succeed(try? context.pipeline.syncOperations.nioSSL_peerCertificate())
            }
            context.fireUserInboundEventTriggered(event)
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            promise.succeed(nil)
            context.close(promise: nil)
        }

        func channelInactive(context: ChannelHandlerContext) {
            promise.succeed(nil)
            context.fireChannelInactive()
        }
    }
}
