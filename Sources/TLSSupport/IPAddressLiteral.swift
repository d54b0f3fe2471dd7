import Foundation

/// Whether a host is an IPv4 or IPv6 address: TLS may not name one as the server (RFC 6066 §3),
/// so connections to it send no SNI and check the certificate's IP SANs instead.
public enum IPAddressLiteral {
    public static func matches(_ host: String) -> Bool {
        var v4 = in_addr(), v6 = in6_addr()
        return host.withCString { inet_pton(AF_INET, $0, &v4) == 1 || inet_pton(AF_INET6, $0, &v6) == 1 }
    }
}
