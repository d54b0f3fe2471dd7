import TwinDirectory
import Logging
import RMBProtocol

/// Routing of relay.md §5 plus direct local delivery and scale-out:
/// a destination connected to this process gets the frame on its socket queue (no Redis);
/// otherwise the frame goes to its stream, and the process holding the session (presence) is
/// woken up. Fail-fast treats a session present on a sibling process as online.
struct EnvelopeRouter: Sendable {
    let configuration: RelayConfiguration
    let registry: SessionRegistry
    let store: RelayStore
    let twins: any TwinDirectory
    let delivery: StreamDelivery
    let metrics: RelayMetrics
    let logger: Logger

    enum Failure: Error { case reply(String) }

    /// Routes one envelope from `session`; returns the error text to reply with, if any.
    func route(_ envelope: RMBEnvelope, raw: [UInt8], from session: SessionID) async -> String? {
        var envelope = envelope
        var raw = raw
        // 1. source must equal the session
        guard envelope.hasSource, session.matches(envelope.source) else { return RelayErrorText.wrongSource }
        // 2. ping → pong, routed like anything else
        if case .ping? = envelope.message {
            envelope.convertPingToPong()
            guard let bytes = try? envelope.wireBytes() else { return nil }
            raw = bytes
        }
        // 3. destination
        let destination = SessionID(address: envelope.hasDestination ? envelope.destination : RMBAddress())
        guard destination.twin != 0 else { return RelayErrorText.missingDestination }
        // 4. connected here
        if deliverLocally(raw, to: destination) { return nil }
        // 5–6. twin and relays
        let twin: Twin?
        do { twin = try await twins.twin(id: destination.twin) } catch {
            return "failed to get twin: \(error)"
        }
        guard let twin else { return RelayErrorText.unknownDestination }
        guard !twin.relays.isEmpty else { return RelayErrorText.relayNotSet }
        // 7. another relay serves it
        if !twin.relays.contains(where: configuration.servesRelay) {
            do { try await store.enqueueFederation(raw) } catch { return error.detail }
            return nil
        }
        // 8. fail-fast: online means here or on a sibling process sharing this Redis
        if envelope.isFailFast {
            let owner: String?
            do { owner = try await store.presence(destination) } catch {
                return RelayErrorText.routeFailed(destination.text, error.detail)
            }
            if owner == nil { return RelayErrorText.destinationOffline }
        }
        // 9. offline queue
        do { try await enqueue(raw, to: destination) } catch {
            return RelayErrorText.routeFailed(destination.text, error.detail)
        }
        return nil
    }

    /// Direct delivery to a session of this process; false when not connected here or its queue is full.
    func deliverLocally(_ raw: [UInt8], to destination: SessionID) -> Bool {
        guard let target = registry.session(for: destination), target.enqueue(.direct(raw)) else { return false }
        return true
    }

    /// Stream enqueue, then wake whoever holds the session.
    func enqueue(_ raw: [UInt8], to destination: SessionID) async throws(StoreError) {
        let result = try await store.enqueue(raw, to: destination)
        metrics.enqueued(bytes: raw.count)
        guard let owner = result.presentOn else { return }
        if owner == store.processID {
            if let session = registry.session(for: destination) {
                Task { await delivery.drain(session) }
            }
        } else {
            await store.wake(destination, on: owner)
        }
    }

    /// Delivery of an envelope that arrives from elsewhere (federation ingress, federation
    /// errors): straight to the socket when connected here, else the stream.
    func deliver(_ raw: [UInt8], to destination: SessionID) async throws(StoreError) {
        if deliverLocally(raw, to: destination) { return }
        try await enqueue(raw, to: destination)
    }
}
