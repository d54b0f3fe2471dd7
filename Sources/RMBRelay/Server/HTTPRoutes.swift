import TwinDirectory
import Hummingbird
import NIOCore
import RMBProtocol

/// The HTTP side of relay.md §1: refused WebSocket upgrades (status and text of §1–2),
/// federation ingress `POST /` (§7.2), `GET /metrics` (§10), anything else 404.
struct HTTPRoutes: Sendable {
    let core: RelayCore

    func makeRouter() -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: NotFoundMiddleware())
        router.post("/") { request, context in try await federationIngress(request, context: context) }
        router.get("/metrics") { _, _ in
            core.metrics.cacheEntries.record(core.twins.cachedTwinCount)
            core.metrics.openConnections.record(core.admission.open)
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                     body: .init(byteBuffer: ByteBuffer(bytes: core.metrics.exposition())))
        }
        return router
    }

    private func federationIngress(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let body: ByteBuffer
        do { body = try await request.body.collect(upTo: core.configuration.maxBodySize) } catch is NIOTooManyBytesError {
            return text(.contentTooLarge, "bad request: body larger than \(core.configuration.maxBodySize) bytes")
        } catch {
            return text(.badRequest, "bad request: \(error)")
        }
        let bytes = Array(body.readableBytesView)
        let envelope: RMBEnvelope
        do { envelope = try RMBEnvelope(wire: bytes) } catch {
            return text(.badRequest, "bad request: \(error)")
        }
        let destination = SessionID(address: envelope.hasDestination ? envelope.destination : RMBAddress())
        guard destination.twin != 0 else { return text(.badRequest, "bad request: \(RelayErrorText.missingDestination)") }
        // Known-gaps §5: only accept envelopes for twins that list one of our domains.
        if !core.configuration.domains.isEmpty {
            let twin: Twin?
            do { twin = try await core.twins.twin(id: destination.twin) } catch {
                return text(.internalServerError, "failed to get twin: \(error)")
            }
            guard let twin else { return text(.notFound, RelayErrorText.unknownDestination) }
            guard twin.relays.contains(where: core.configuration.servesRelay) else {
                return text(.misdirectedRequest, "destination twin is not served by this relay")
            }
        }
        // Known-gaps §5: a quota per destination twin, so a flood from other relays gets a
        // clear 429 (a 4xx: the sending relay returns an error to the sender and does not
        // retry) instead of silently pushing the twin's queue past its MAXLEN trim.
        if let limiter = core.ingressLimiter, !limiter.allow(twin: destination.twin, length: bytes.count, now: unixNow()) {
            core.logger.debug("federation quota exceeded", metadata: ["twin": "\(destination.twin)"])
            return text(.tooManyRequests, "federation limit exceeded for twin \(destination.twin)")
        }
        if envelope.isFailFast, core.registry.session(for: destination) == nil {
            let owner = try? await core.store.presence(destination)
            if owner == nil { return text(.notFound, RelayErrorText.destinationOffline) }
        }
        do { try await core.router.deliver(bytes, to: destination) } catch {
            return text(.internalServerError, "switch error: \(error.detail)")
        }
        return Response(status: .accepted)
    }
}

func text(_ status: HTTPResponse.Status, _ message: String) -> Response {
    Response(status: status, headers: [.contentType: "text/plain; charset=utf-8"],
             body: .init(byteBuffer: ByteBuffer(string: message)))
}

/// Anything that matches no route is 404 `page not found`.
struct NotFoundMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            return text(.notFound, "page not found")
        }
    }
}

func isWebSocketUpgrade(_ head: HTTPRequest) -> Bool {
    guard let upgrade = head.headerFields[.upgrade], upgrade.lowercased().contains("websocket") else { return false }
    return true
}

/// Everything after the first `?` of the request target, exactly as sent (no decoding).
func rawQuery(ofTarget target: String) -> String? {
    guard let mark = target.firstIndex(of: "?") else { return nil }
    return String(target[target.index(after: mark)...])
}
