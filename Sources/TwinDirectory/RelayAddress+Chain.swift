extension RelayAddress {
    /// The on-chain field is a `BoundedVec<u8, 1024>` (twins.md §1).
    public static let maximumChainRelayFieldLength = 1024

    /// tfchain's validation of the `relay` field of `update_twin` (twins.md §1), reproduced so
    /// a peer can refuse to submit an extrinsic the chain would reject.
    ///
    /// Rules: non-empty, at most 1024 bytes, only `[A-Za-z0-9._-]`, no trailing `.`, and a `.`
    /// is rejected when it sits at index 0 or right after the previous `.`, where "the
    /// previous `.`" starts out as index 0. That last detail is tfchain's quirk: besides
    /// rejecting `..` and a leading `.`, it also rejects a `.` at index 1, so
    /// `a.example.com` is invalid while `ab.example.com` is fine. Note also that `_` does
    /// not reset anything, so `r1.example.com_.x` passes although its second host is bad.
    public static func isValidChainRelayField(_ field: String) -> Bool {
        let bytes = Array(field.utf8)
        guard !bytes.isEmpty, bytes.count <= maximumChainRelayFieldLength else { return false }
        guard bytes.last != UInt8(ascii: ".") else { return false }
        var previousDot = 0
        for (index, byte) in bytes.enumerated() {
            switch byte {
            case UInt8(ascii: "."):
                if index == 0 || index == previousDot + 1 { return false }
                previousDot = index
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"):
                continue
            default:
                return false
            }
        }
        return true
    }

    /// Why this relay cannot be written on tfchain, in words; nil when it can. The reasons,
    /// in order: a plain-http scheme, a port, a `_` (tfchain joins relays with it), tfchain's
    /// quirk of refusing a `.` as the second character (`a.example.com`), any other failure of
    /// ``isValidChainRelayField(_:)``.
    public var chainIncompatibility: String? {
        if !isSecure { return "it has a plain-http scheme (tfchain stores host names only; relays are reached over wss)" }
        if port != nil { return "it has a port (tfchain stores host names only; relays are reached on 443)" }
        if host.contains("_") { return "it contains '_', which tfchain uses to join relays" }
        let bytes = Array(host.utf8)
        if bytes.count > 1, bytes[1] == UInt8(ascii: ".") {
            return "tfchain refuses a '.' as the second character of the relay field (its check's quirk), e.g. 'a.example.com'; use a host whose first label is longer"
        }
        if !Self.isValidChainRelayField(host) {
            return "it fails tfchain's check of the relay field ([A-Za-z0-9._-], no leading, trailing or doubled '.', at most \(Self.maximumChainRelayFieldLength) bytes)"
        }
        return nil
    }

    /// Relays from the chain's `relay` field: host names joined with `_` (twins.md §1).
    ///
    /// Differences from the original, on purpose: empty pieces (`a__b`, a leading or trailing
    /// `_`) are **dropped** rather than kept as empty host names, pieces that are not valid host
    /// names are dropped too (nothing could connect to them), and duplicates are removed while
    /// keeping first-seen order. Every result is secure with the default port. The field is not
    /// required to pass ``isValidChainRelayField(_:)``: records already on chain are taken as
    /// they are.
    public static func parseChainRelayField(_ field: String) -> [RelayAddress] {
        var seen = Set<RelayAddress>()
        var relays: [RelayAddress] = []
        for piece in field.split(separator: "_", omittingEmptySubsequences: true) {
            guard let host = try? validatedHost(String(piece), original: String(piece)), !host.contains(":") else { continue }
            let relay = RelayAddress(validatedHost: host, port: nil, isSecure: true)
            if seen.insert(relay).inserted { relays.append(relay) }
        }
        return relays
    }

    /// The value to store on chain for these relays (`_`-joined hosts), or `nil` when any relay
    /// has a port or plain-http scheme, or the result would fail tfchain's check.
    public static func chainRelayField(for relays: [RelayAddress]) -> String? {
        guard !relays.isEmpty, relays.allSatisfy(\.isChainCompatible) else { return nil }
        let field = relays.map(\.host).joined(separator: "_")
        return isValidChainRelayField(field) ? field : nil
    }
}
