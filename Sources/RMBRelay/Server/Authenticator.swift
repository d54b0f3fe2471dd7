import TwinDirectory
import Hummingbird
import RMBIdentity
import RMBProtocol

/// Why an upgrade was refused: the HTTP status and plain-text body of relay.md §1.
public struct AuthRejection: Error, Sendable, Equatable, CustomStringConvertible {
    public var status: HTTPResponse.Status
    public var text: String
    public var description: String { "\(status.code) \(text)" }
}

/// JWT checks of relay.md §2 in the spec's order: query present → token parses → not expired
/// → (optional maximum lifetime) → twin lookup (cached, negatives too) → signature.
struct Authenticator: Sendable {
    let twins: any TwinDirectory
    let maxLifetime: UInt64?

    /// `rawQuery` is everything after the first `?` of the request target, undecoded.
    func authenticate(rawQuery: String?, now: UInt64 = unixNow()) async -> Result<SessionID, AuthRejection> {
        guard let rawQuery, !rawQuery.isEmpty else { return .failure(.init(status: .badRequest, text: "missing jwt")) }
        let token: RelayToken
        do {
            token = try RelayToken(parsing: rawQuery)
        } catch {
            return .failure(.init(status: .unauthorized, text: "invalid jwt: \(error.description)"))
        }
        if token.isExpired(now: now) {
            return .failure(.init(status: .unauthorized, text: "invalid jwt: \(RelayTokenError.expired.description)"))
        }
        if let maxLifetime, token.claims.exp > token.claims.iat, token.claims.exp - token.claims.iat > maxLifetime {
            return .failure(.init(status: .unauthorized, text: "invalid jwt: jwt lifetime exceeds \(maxLifetime) s"))
        }
        let twin: Twin?
        do {
            twin = try await twins.twin(id: token.claims.sub)
        } catch {
            return .failure(.init(status: .internalServerError, text: "failed to get twin: \(error)"))
        }
        guard let twin else { return .failure(.init(status: .unauthorized, text: "twin not found \(token.claims.sub)")) }
        do {
            try token.verify(account: twin.account)
        } catch {
            return .failure(.init(status: .unauthorized, text: "invalid jwt: \(error.description)"))
        }
        return .success(SessionID(twin: token.claims.sub, sid: token.claims.sid))
    }
}
