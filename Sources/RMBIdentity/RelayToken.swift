import Foundation
import RMBProtocol

/// The relay authentication token (relay.md §2): `B64U(header).B64U(claims).B64U(sig65)`, where
/// the signature is a typed RMB signature over the ASCII signing input (no pre-hash) and the
/// header is always `{"alg":"RS512"}` (a fixed label; it has nothing to do with RSA).
public struct RelayToken: Sendable, Equatable {
    public struct Claims: Codable, Sendable, Equatable {
        public var sub: UInt32
        public var sid: String?
        public var iat: UInt64
        public var exp: UInt64

        public init(sub: UInt32, sid: String?, iat: UInt64, exp: UInt64) {
            self.sub = sub; self.sid = sid; self.iat = iat; self.exp = exp
        }

        /// Compact JSON in the reference's key order, `sid` written as `null` when absent.
        public var json: String {
            let sidText: String
            if let sid {
                let encoded = (try? JSONEncoder().encode(sid)).map { String(decoding: $0, as: UTF8.self) }
                sidText = encoded ?? "null"
            } else {
                sidText = "null"
            }
            return "{\"sub\":\(sub),\"sid\":\(sidText),\"iat\":\(iat),\"exp\":\(exp)}"
        }
    }

    private struct Header: Decodable {
        var alg: String
        var typ: String?
        var cty: String?
        var kid: String?
    }

    public static let headerJSON = #"{"alg":"RS512"}"#
    public static let defaultLifetime: UInt64 = 300

    public let claims: Claims
    /// `B64U(header).B64U(claims)` exactly as it appears in the token.
    public let signingInput: String
    public let signature: TypedSignature

    /// Builds and signs a token for `twin`; `sid` is nil for rmb-peer.
    public static func make(identity: Identity, twin: UInt32, sid: String? = nil,
                            issuedAt: UInt64 = unixNow(), lifetime: UInt64 = defaultLifetime) throws(IdentityError) -> String {
        let claims = Claims(sub: twin, sid: sid, iat: issuedAt, exp: issuedAt + lifetime)
        let input = Base64URL.encode(Array(headerJSON.utf8)) + "." + Base64URL.encode(Array(claims.json.utf8))
        let signature = try identity.sign(Array(input.utf8))
        return input + "." + Base64URL.encode(signature.bytes)
    }

    /// Parses a token without verifying it: three parts, decodable header and claims,
    /// `alg == RS512`, a 65-byte typed signature.
    public init(parsing token: String) throws(RelayTokenError) {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw .malformed("expected 3 dot-separated parts, found \(parts.count)") }
        guard let headerBytes = Base64URL.decode(parts[0]) else { throw .malformed("header is not base64url") }
        guard let claimsBytes = Base64URL.decode(parts[1]) else { throw .malformed("claims are not base64url") }
        guard let signatureBytes = Base64URL.decode(parts[2]) else { throw .malformed("signature is not base64url") }
        let header: Header
        do { header = try JSONDecoder().decode(Header.self, from: Data(headerBytes)) } catch {
            throw .malformed("invalid header JSON")
        }
        guard header.alg == "RS512" else { throw .malformed("unsupported alg '\(header.alg.prefix(16))'") }
        do { claims = try JSONDecoder().decode(Claims.self, from: Data(claimsBytes)) } catch {
            throw .malformed("invalid claims (sub, iat and exp must be numbers)")
        }
        do { signature = try TypedSignature(bytes: signatureBytes) } catch {
            throw .malformed("invalid signature: \(error.description)")
        }
        signingInput = parts[0] + "." + parts[1]
    }

    /// `now > exp` is expired; `now == exp` is still accepted (relay.md §2).
    public func isExpired(now: UInt64 = unixNow()) -> Bool { now > claims.exp }

    /// Checks the signature against the twin's account id.
    public func verify(account: AccountID) throws(RelayTokenError) {
        guard SignatureVerifier.verify(signature, message: Array(signingInput.utf8), account: account) else {
            throw .badSignature
        }
    }
}

/// Token failures; `description` is the text after the relay's `invalid jwt: ` prefix.
public enum RelayTokenError: Error, Equatable, Sendable, CustomStringConvertible {
    case malformed(String)
    case badSignature
    case expired

    public var description: String {
        switch self {
        case .malformed(let d): "jwt: \(d)"
        case .badSignature: "jwt: invalid signature"
        case .expired: "jwt has expired"
        }
    }
}

/// base64url without padding (RFC 4648 §5); decoding also tolerates `=` padding.
public enum Base64URL {
    public static func encode(_ bytes: [UInt8]) -> String {
        var s = Data(bytes).base64EncodedString()
        while s.hasSuffix("=") { s.removeLast() }
        return String(s.map { $0 == "+" ? "-" : $0 == "/" ? "_" : $0 })
    }

    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        var s = String(text)
        while s.hasSuffix("=") { s.removeLast() }
        guard !s.contains("+"), !s.contains("/") else { return nil }
        s = String(s.map { $0 == "-" ? "+" : $0 == "_" ? "/" : $0 })
        switch s.utf8.count % 4 {
        case 0: break
        case 2: s += "=="
        case 3: s += "="
        default: return nil
        }
        return Data(base64Encoded: s).map { [UInt8]($0) }
    }
}
