import Crypto
import Foundation
import SwiftASN1
import X509

/// A private certificate authority for TLS tests: made in process (no `openssl` binary), written
/// as PEM files in a fresh temporary folder, so tests can hand paths to `--tls-cert`, `--ca-file`
/// and the like exactly as a user would.
///
/// ```swift
/// let ca = try TestCertificateAuthority()
/// let server = try ca.issue(dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"])
/// // serve with server.certificatePath / server.privateKeyPath, trust ca.certificatePath
/// ```
public struct TestCertificateAuthority: Sendable {
    /// When an issued certificate is valid, relative to now.
    public enum Validity: Sendable {
        case current
        /// Ended yesterday.
        case expired
        /// Starts tomorrow.
        case notYetValid
    }

    /// A leaf certificate and its key, as PEM files.
    public struct Issued: Sendable {
        public let certificatePath: String
        public let privateKeyPath: String
        public let certificatePEM: String
        public let privateKeyPEM: String
    }

    public enum Failure: Error, CustomStringConvertible {
        case notAnIPAddress(String)
        public var description: String {
            switch self {
            case .notAnIPAddress(let text): "not an IPv4 or IPv6 address: \(text)"
            }
        }
    }

    /// The folder holding every file this authority writes.
    public let directory: URL
    /// The authority's own certificate (the root to trust), PEM.
    public let certificatePath: String
    public let certificatePEM: String
    private let name: DistinguishedName
    private let keyPEM: String

    /// Makes a new self-signed root, valid from an hour ago for ten years.
    /// Each CA has a name of its own: trust is process-wide (`ClientTLS.trust`), and two trusted
    /// CAs of one name make the verifier pick the wrong one (BAD_SIGNATURE) in parallel tests.
    public init(commonName: String = "RMB Test CA \(UUID().uuidString.prefix(8))") throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("rmb-test-ca-\(UUID().uuidString.prefix(8))", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let key = P256.Signing.PrivateKey()
        name = try DistinguishedName { CommonName(commonName) }
        let now = Date()
        let certificate = try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-3600),
            notValidAfter: now.addingTimeInterval(10 * 365 * 86400),
            issuer: name,
            subject: name,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
            },
            issuerPrivateKey: .init(key))
        certificatePEM = try certificate.serializeAsPEM().pemString
        keyPEM = key.pemRepresentation
        certificatePath = directory.appendingPathComponent("ca.pem").path
        try certificatePEM.write(toFile: certificatePath, atomically: true, encoding: .utf8)
    }

    /// Issues a server (and client) certificate for the given names, signed by this authority.
    public func issue(
        commonName: String = "rmb test server",
        dnsNames: [String] = ["localhost"],
        ipAddresses: [String] = ["127.0.0.1"],
        validity: Validity = .current
    ) throws -> Issued {
        let issuerKey = try P256.Signing.PrivateKey(pemRepresentation: keyPEM)
        let key = P256.Signing.PrivateKey()
        let now = Date()
        let day: TimeInterval = 86400
        let (notBefore, notAfter): (Date, Date) = switch validity {
        case .current: (now.addingTimeInterval(-3600), now.addingTimeInterval(365 * day))
        case .expired: (now.addingTimeInterval(-30 * day), now.addingTimeInterval(-day))
        case .notYetValid: (now.addingTimeInterval(day), now.addingTimeInterval(30 * day))
        }
        var names: [GeneralName] = dnsNames.map { .dnsName($0) }
        for address in ipAddresses {
            names.append(.ipAddress(ASN1OctetString(contentBytes: ArraySlice(try Self.bytes(ofIP: address)))))
        }
        let subjectAlternativeNames = SubjectAlternativeNames(names)
        let certificate = try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: .init(key.publicKey),
            notValidBefore: notBefore,
            notValidAfter: notAfter,
            issuer: name,
            subject: try DistinguishedName { CommonName(commonName) },
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth, .clientAuth])
                subjectAlternativeNames
            },
            issuerPrivateKey: .init(issuerKey))
        let stem = "leaf-\(UUID().uuidString.prefix(8))"
        let certificatePEM = try certificate.serializeAsPEM().pemString
        let privateKeyPEM = key.pemRepresentation
        let certificatePath = directory.appendingPathComponent("\(stem).pem").path
        let privateKeyPath = directory.appendingPathComponent("\(stem)-key.pem").path
        try certificatePEM.write(toFile: certificatePath, atomically: true, encoding: .utf8)
        try privateKeyPEM.write(toFile: privateKeyPath, atomically: true, encoding: .utf8)
        return Issued(certificatePath: certificatePath, privateKeyPath: privateKeyPath,
                      certificatePEM: certificatePEM, privateKeyPEM: privateKeyPEM)
    }

    /// Removes the authority's folder (certificates and keys).
    public func remove() {
        try? FileManager.default.removeItem(at: directory)
    }

    private static func bytes(ofIP text: String) throws -> [UInt8] {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { Array($0) }
        }
        throw Failure.notAnIPAddress(text)
    }
}
