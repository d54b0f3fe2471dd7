import Foundation
import NIOSSL
import Synchronization

/// The TLS settings of every client connection the project makes (relay sessions, tfchain,
/// federation): one place, so `wss://` and `https://` behave alike everywhere.
///
/// - Trust: the system's roots, plus the PEM file named by `SSL_CERT_FILE` (as OpenSSL-based
///   tools honour it) and any file given with ``trust(caFile:)`` (the executables' `--ca-file`),
///   so a private CA works without touching the system store.
/// - Closing: a close sends `close_notify` and closes without waiting for the far side's
///   (``shutdownTimeout`` 0; NIOSSL waits 5 s by default, which every CLI call against tfchain
///   and every peer shutdown used to pay, and a 250-ms wait still cost `rmb twin show` 0.28 s).
///   The WebSocket close handshake before it already tells the far side we are done.
public enum ClientTLS {
    /// Milliseconds a TLS close waits for the far side's `close_notify`.
    public static let shutdownTimeout: Int64 = 0

    public enum Failure: Error, CustomStringConvertible {
        case unreadableCAFile(String, String)
        public var description: String {
            switch self {
            case let .unreadableCAFile(path, reason): "cannot use CA file \(path): \(reason)"
            }
        }
    }

    /// Roots added with ``trust(caFile:)``, by file, read once: a file moved or deleted later
    /// does not break every later connection.
    private static let extraRoots = Mutex<[(path: String, certificates: [NIOSSLCertificate])]>([])

    /// Adds the certificates of a PEM file to the roots trusted by every later connection of this
    /// process. Throws when the file holds no readable certificate.
    public static func trust(caFile path: String) throws(Failure) {
        let certificates: [NIOSSLCertificate]
        do {
            certificates = try NIOSSLCertificate.fromPEMFile(path)
        } catch {
            throw .unreadableCAFile(path, String(describing: error))
        }
        guard !certificates.isEmpty else { throw .unreadableCAFile(path, "no certificate in it") }
        extraRoots.withLock { roots in
            if !roots.contains(where: { $0.path == path }) { roots.append((path, certificates)) }
        }
    }

    /// A client configuration: full verification against the trusted roots, short close.
    public static func configuration(environment: [String: String] = ProcessInfo.processInfo.environment) -> TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.shutdownTimeout = .milliseconds(shutdownTimeout)
        var roots: [NIOSSLAdditionalTrustRoots] = extraRoots.withLock { $0.map { .certificates($0.certificates) } }
        if let file = environment["SSL_CERT_FILE"], !file.isEmpty, FileManager.default.isReadableFile(atPath: file) {
            roots.append(.file(file))
        }
        configuration.additionalTrustRoots = roots
        return configuration
    }
}
