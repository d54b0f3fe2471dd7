import NIOSSL
import RMBTestSupport

extension TestCertificateAuthority.Issued {
    /// A NIOSSL server configuration presenting this certificate (for test nodes and relays).
    public func serverConfiguration() throws -> TLSConfiguration {
        TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(certificatePath).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: privateKeyPath, format: .pem)))
    }
}
