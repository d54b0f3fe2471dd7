extension RelayAddress {
    /// Longest input considered; anything longer is not a host name (DNS caps names at 253).
    static let maximumTextLength = 300

    /// Parses `host`, `host:port`, `[v6]:port` and the same with an `https://`, `http://`,
    /// `wss://` or `ws://` scheme (case-insensitive) and an optional trailing `/`.
    /// Surrounding whitespace is ignored. See the type's documentation for defaults.
    public init(parsing text: String) throws(RelayAddressError) {
        let trimmed = Self.trimmingWhitespace(text)
        guard !trimmed.isEmpty else { throw .empty }
        let shown = trimmed.count > 80 ? String(trimmed.prefix(77)) + "..." : trimmed
        guard trimmed.utf8.count <= Self.maximumTextLength else { throw .invalidHost(shown, "too long") }

        var rest = Substring(trimmed)
        var isSecure = true
        if let schemeEnd = rest.firstRange(of: "://") {
            switch rest[..<schemeEnd.lowerBound].lowercased() {
            case "https", "wss": isSecure = true
            case "http", "ws": isSecure = false
            default: throw .unsupportedScheme(shown)
            }
            rest = rest[schemeEnd.upperBound...]
        }
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        if rest.contains(where: { "/?#@\\".contains($0) }) { throw .unexpectedSuffix(shown) }

        let hostPart: Substring
        var portPart: Substring?
        if rest.hasPrefix("[") {
            // IPv6 literal: [addr] or [addr]:port
            guard let close = rest.firstIndex(of: "]") else { throw .invalidHost(shown, "missing ']'") }
            hostPart = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw .invalidHost(shown, "unexpected text after ']'") }
                portPart = after.dropFirst()
            }
            guard Self.isIPv6Literal(hostPart) else { throw .invalidHost(shown, "not an IPv6 address") }
        } else {
            let pieces = rest.split(separator: ":", omittingEmptySubsequences: false)
            guard pieces.count <= 2 else { throw .invalidHost(shown, "IPv6 addresses need brackets, e.g. [::1]:8080") }
            hostPart = pieces[0]
            if pieces.count == 2 { portPart = pieces[1] }
        }

        var port: UInt16?
        if let portPart {
            guard !portPart.isEmpty, portPart.count <= 5, portPart.allSatisfy({ $0.isASCII && $0.isNumber }),
                  let value = UInt16(portPart), value != 0
            else { throw .invalidPort(shown, String(portPart)) }
            port = value
        }
        self.init(validatedHost: try Self.validatedHost(String(hostPart), original: shown), port: port, isSecure: isSecure)
    }

    /// Lowercased host if it is a DNS name (letters, digits, `-`, `_`; dot-separated labels of
    /// 1–63 characters, at most 253 in total) or an IPv6 literal; IPv4 literals pass as names.
    static func validatedHost(_ host: String, original: String) throws(RelayAddressError) -> String {
        guard !host.isEmpty else { throw .invalidHost(original, "empty host") }
        if host.contains(":") {
            guard isIPv6Literal(Substring(host)) else { throw .invalidHost(original, "not an IPv6 address") }
            return host.lowercased()
        }
        guard host.utf8.count <= 253 else { throw .invalidHost(original, "longer than 253 characters") }
        for label in host.split(separator: ".", omittingEmptySubsequences: false) {
            guard !label.isEmpty else { throw .invalidHost(original, "empty label (leading, trailing or double dot)") }
            guard label.utf8.count <= 63 else { throw .invalidHost(original, "label longer than 63 characters") }
            guard label.utf8.allSatisfy(isHostByte) else {
                throw .invalidHost(original, "only letters, digits, '-' and '_' are allowed in names")
            }
            guard label.first != "-", label.last != "-" else { throw .invalidHost(original, "label starts or ends with '-'") }
        }
        return host.lowercased()
    }

    private static func isHostByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"): true
        default: false
        }
    }

    /// A loose but safe IPv6 check: hex groups, colons, at most one `::`, optional dotted IPv4
    /// tail. Enough to keep garbage out of URLs; the socket layer does the exact parse.
    static func isIPv6Literal(_ text: Substring) -> Bool {
        guard text.count >= 2, text.count <= 45, text.contains(":") else { return false }
        guard text.allSatisfy({ ($0.isASCII && $0.isHexDigit) || $0 == ":" || $0 == "." }) else { return false }
        guard text.ranges(of: "::").count <= 1, !text.contains(":::") else { return false }
        let groups = text.split(separator: ":", omittingEmptySubsequences: true)
        guard groups.count <= 8 else { return false }
        for (index, group) in groups.enumerated() {
            if group.contains(".") {
                // dotted quad, only as the last group
                guard index == groups.count - 1 else { return false }
                let octets = group.split(separator: ".", omittingEmptySubsequences: false)
                guard octets.count == 4, octets.allSatisfy({ !$0.isEmpty && $0.count <= 3 && UInt8($0) != nil }) else { return false }
            } else if group.count > 4 {
                return false
            }
        }
        return true
    }

    private static func trimmingWhitespace(_ text: String) -> String {
        let scalars = text.unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[first...last])
    }
}
