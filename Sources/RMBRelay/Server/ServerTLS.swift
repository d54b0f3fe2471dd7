import NIOSSL
import Synchronization

/// The relay's own TLS listener (`--tls-cert`, `--tls-key`): `wss://` and `https://` on the
/// relay's one port, so a relay on the open internet needs no terminating proxy.
///
/// The certificate can be replaced while the relay runs (``reload()``, SIGHUP in the
/// executable): connections accepted afterwards present the new one, established sessions keep
/// theirs. A reload that fails keeps the certificate in use, so a half-written renewal never
/// takes the relay off the air.
public final class ServerTLS: Sendable {
    public enum Failure: Error, CustomStringConvertible, Equatable {
        case unreadableCertificate(path: String, reason: String)
        case unreadableKey(path: String, reason: String)
        /// TLS refused the pair. (A key that does not belong to the certificate is not detected
        /// here: NIOSSL does not check it; every handshake then fails.)
        case unusable(reason: String)

        public var description: String {
            switch self {
            case let .unreadableCertificate(path, reason): "cannot use TLS certificate \(path): \(reason)"
            case let .unreadableKey(path, reason): "cannot use TLS private key \(path): \(reason)"
            case let .unusable(reason): "cannot use the TLS certificate and key together: \(reason)"
            }
        }
    }

    public let certificatePath: String
    public let privateKeyPath: String
    private let current: Mutex<NIOSSLContext>

    /// Loads the PEM certificate chain (leaf first) and its private key.
    public init(certificatePath: String, privateKeyPath: String) throws(Failure) {
        self.certificatePath = certificatePath
        self.privateKeyPath = privateKeyPath
        current = Mutex(try Self.load(certificatePath: certificatePath, privateKeyPath: privateKeyPath))
    }

    /// The context new connections use.
    var context: NIOSSLContext { current.withLock { $0 } }

    /// Reads the files again; on failure the certificate in use stays.
    public func reload() throws(Failure) {
        let fresh = try Self.load(certificatePath: certificatePath, privateKeyPath: privateKeyPath)
        current.withLock { $0 = fresh }
    }

    private static func load(certificatePath: String, privateKeyPath: String) throws(Failure) -> NIOSSLContext {
        let chain: [NIOSSLCertificate]
        do { chain = try NIOSSLCertificate.fromPEMFile(certificatePath) } catch {
            throw .unreadableCertificate(path: certificatePath, reason: String(describing: error))
        }
        guard !chain.isEmpty else { throw .unreadableCertificate(path: certificatePath, reason: "no certificate in it") }
        let key: NIOSSLPrivateKey
        do { key = try NIOSSLPrivateKey(file: privateKeyPath, format: .pem) } catch {
            throw .unreadableKey(path: privateKeyPath, reason: String(describing: error))
        }
        let configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        do { return try NIOSSLContext(configuration: configuration) } catch {
            throw .unusable(reason: String(describing: error))
        }
    }
}
