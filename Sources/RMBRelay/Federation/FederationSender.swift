import TLSSupport
import TwinDirectory
import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import ProcessLifecycle
import RMBProtocol

/// Outcome of forwarding one envelope to the destination twin's relays (relay.md §7.1).
enum ForwardOutcome: Equatable {
    case delivered
    /// Do not retry; the text goes back to the source in an error envelope.
    case permanent(String)
    /// Leave pending; it is reclaimed and retried until the envelope expires.
    case transient(String)
}

/// POSTs raw envelope bytes to `https://<domain>/` (or the relay entry's own scheme and port),
/// up to 3 passes over the ranked domains, skipping domains whose circuit breaker is open.
/// Exactly 202 is success; any 4xx is permanent; anything else downvotes and tries the next.
struct FederationSender: Sendable {
    let http: HTTPClient
    let ranker: RelayRanker
    let breaker: CircuitBreaker
    /// The pauses between passes run on it, and the budget is measured on its stopwatch.
    let clock: any Clock<Duration>
    let stopwatch: Stopwatch
    let metrics: RelayMetrics
    let logger: Logger
    var requestTimeout: TimeAmount = .seconds(3)

    /// `budget`: how long the attempts may take in all (the envelope's remaining life, see
    /// ``FederationGiveUp``); no POST outlasts it, so a failure is known while the sender can
    /// still be told. nil: no limit beyond the passes' own timeouts.
    func forward(_ raw: [UInt8], relays: [RelayAddress], budget: Duration? = nil) async -> ForwardOutcome {
        let end = budget.map { stopwatch.elapsed() + $0 }
        var byDomain: [String: RelayAddress] = [:]
        for relay in relays { byDomain[relay.authority] = relay }
        let ordered = ranker.rank(Array(byDomain.keys))
        var lastFailure: [String: String] = [:]
        for pass in 0..<3 {
            if pass > 0 {
                let pause = pass == 1 ? 100 + Int.random(in: 0...50) : 200 + Int.random(in: 0...100)
                try? await clock.sleep(for: .milliseconds(pause), tolerance: nil)
            }
            var attempted = false
            for domain in ordered {
                guard let relay = byDomain[domain], breaker.allows(domain) else { continue }
                var timeout = requestTimeout
                if let end {
                    let left = end - stopwatch.elapsed()
                    guard left > .milliseconds(50) else { break }
                    timeout = min(timeout, TimeAmount(left))
                }
                attempted = true
                switch await post(raw, to: relay, timeout: timeout) {
                case .accepted:
                    if breaker.recordSuccess(domain) { logger.info("federation relay is back: circuit closed", metadata: ["relay": "\(domain)"]) }
                    metrics.federationSuccess(domain)
                    return .delivered
                case .rejected(let text):
                    breaker.recordSuccess(domain)
                    for domain in ordered { metrics.federationError(domain) }
                    return .permanent("remote relay rejected permanently: \(text)")
                case .failed(let reason):
                    lastFailure[domain] = reason
                    logger.debug("federation attempt failed", metadata: ["relay": "\(domain)", "error": "\(reason)"])
                    ranker.downvote(domain)
                    if breaker.recordFailure(domain) {
                        logger.info("federation relay failing: circuit open", metadata: ["relay": "\(domain)", "error": "\(reason)"])
                    }
                }
            }
            if !attempted { break }
        }
        for domain in ordered { metrics.federationError(domain) }
        let failures = ordered.map { domain in "\(domain): \(lastFailure[domain] ?? "circuit open after earlier failures")" }
        return .transient("no relay of the destination accepted the envelope (" + failures.joined(separator: "; ") + ")")
    }

    private enum Attempt { case accepted, rejected(String), failed(String) }

    private func post(_ raw: [UInt8], to relay: RelayAddress, timeout: TimeAmount) async -> Attempt {
        var request = HTTPClientRequest(url: relay.federationURL)
        request.method = .POST
        request.body = .bytes(ByteBuffer(bytes: raw))
        do {
            let response = try await http.execute(request, timeout: timeout)
            let body = (try? await response.body.collect(upTo: 1024)).map { String(buffer: $0) } ?? ""
            switch response.status.code {
            case 202: return .accepted
            case 400..<500: return .rejected(body.isEmpty ? RelayErrorText.destinationOffline : body)
            default: return .failed("status \(response.status.code)")
            }
        } catch {
            return .failed(await CertificateDiagnosis.describe(error, url: relay.federationURL))
        }
    }
}
