import Foundation

/// Where a Redis server is and how to log in. Parsed from the reference peer's `-r/--redis`
/// forms: `redis://host:port` (default `redis://localhost:6379`), `host:port`, `host`, with
/// optional `redis://[user]:password@host:port/db`. IPv6 literals go in brackets.
public struct RedisEndpoint: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var username: String?
    public var password: String?
    /// `SELECT`ed after connecting when set.
    public var database: Int?

    public static let defaultPort = 6379
    /// The reference peer's default, `redis://localhost:6379`.
    public static let `default` = RedisEndpoint(host: "localhost", port: defaultPort)

    public init(host: String, port: Int = RedisEndpoint.defaultPort, username: String? = nil, password: String? = nil, database: Int? = nil) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
    }

    /// Parses a Redis URL or `host[:port]`.
    public init(url: String) throws(RedisError) {
        var rest = Substring(url.trimmingCharacters(in: .whitespaces))
        if let schemeEnd = rest.range(of: "://") {
            let scheme = rest[..<schemeEnd.lowerBound].lowercased()
            guard scheme == "redis" else { throw .invalidURL("unsupported scheme '\(scheme)' in \(url)") }
            rest = rest[schemeEnd.upperBound...]
        }
        if let query = rest.firstIndex(of: "?") { rest = rest[..<query] }

        var database: Int?
        if let slash = rest.firstIndex(of: "/") {
            let path = rest[rest.index(after: slash)...]
            if !path.isEmpty {
                guard let number = Int(path), number >= 0 else { throw .invalidURL("bad database '\(path)' in \(url)") }
                database = number
            }
            rest = rest[..<slash]
        }

        var username: String?
        var password: String?
        if let at = rest.lastIndex(of: "@") {
            let userInfo = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = userInfo.firstIndex(of: ":") {
                let user = String(userInfo[..<colon])
                username = user.isEmpty ? nil : user.removingPercentEncoding ?? user
                let secret = String(userInfo[userInfo.index(after: colon)...])
                password = secret.removingPercentEncoding ?? secret
            } else if !userInfo.isEmpty {
                username = String(userInfo).removingPercentEncoding ?? String(userInfo)
            }
        }

        var host: Substring
        var portText: Substring?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw .invalidURL("unclosed '[' in \(url)") }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw .invalidURL("unexpected '\(after)' in \(url)") }
                portText = after.dropFirst()
            }
        } else if let colon = rest.firstIndex(of: ":") {
            host = rest[..<colon]
            portText = rest[rest.index(after: colon)...]
            if portText?.contains(":") == true { throw .invalidURL("IPv6 addresses need brackets: \(url)") }
        } else {
            host = rest
        }
        var port = RedisEndpoint.defaultPort
        if let portText, !portText.isEmpty {
            guard let number = Int(portText), (1...65535).contains(number) else {
                throw .invalidURL("bad port '\(portText)' in \(url)")
            }
            port = number
        }
        if host.contains(where: { $0 == " " || $0 == "/" }) { throw .invalidURL("bad host in \(url)") }
        self.init(
            host: host.isEmpty ? "localhost" : String(host), port: port,
            username: username, password: password, database: database)
    }

    /// `redis://host:port[/db]` without credentials (safe for logs).
    public var description: String {
        let hostPart = host.contains(":") ? "[\(host)]" : host
        return "redis://\(hostPart):\(port)" + (database.map { "/\($0)" } ?? "")
    }
}
