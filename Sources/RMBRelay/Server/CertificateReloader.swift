import Logging
import ServiceLifecycle
import UnixSignals

/// Reloads the listener's certificate on SIGHUP (a renewed Let's Encrypt certificate without a
/// restart). A failed reload is logged and the certificate in use stays.
struct CertificateReloader: Service {
    let tls: ServerTLS
    let logger: Logger

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        for await _ in signals.cancelOnGracefulShutdown() {
            do throws(ServerTLS.Failure) {
                try tls.reload()
                logger.info("TLS certificate reloaded", metadata: ["certificate": "\(tls.certificatePath)"])
            } catch {
                logger.error("TLS certificate reload failed: keeping the one in use", metadata: ["error": "\(error)"])
            }
        }
    }
}
