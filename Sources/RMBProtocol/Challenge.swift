import Foundation
import RMBCrypto

/// The signing challenge of envelope.md §2: a separator-free concatenation of the fields,
/// hashed with MD5. The layout is legacy and ambiguous (known-gaps.md) but must be reproduced
/// byte for byte to interoperate.
extension RMBEnvelope {
    /// The pre-hash concatenation. The signature field is never part of it.
    public var challenge: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(128 + uid.utf8.count + payloadBytes.count)
        out.append(contentsOf: uid.utf8)
        if hasTags { out.append(contentsOf: tags.utf8) }
        appendDecimal(timestamp, to: &out)
        appendDecimal(expiration, to: &out)
        appendAddress(hasSource ? source : nil, to: &out)
        appendAddress(hasDestination ? destination : nil, to: &out)
        switch message {
        case .request(let request)?: out.append(contentsOf: request.command.utf8)
        case .error(let error)?:
            appendDecimal(UInt64(error.code), to: &out)
            out.append(contentsOf: error.message.utf8)
        case .response?, .ping?, .pong?, nil: break
        }
        if hasSchema { out.append(contentsOf: schema.utf8) }
        if hasFederation { out.append(contentsOf: federation.utf8) }
        out.append(contentsOf: payloadBytes)
        for relay in relays { out.append(contentsOf: relay.utf8) }
        return out
    }

    /// MD5 of ``challenge``: the 16 bytes that are actually signed.
    public var digest: [UInt8] { OpenSSL.md5(challenge) }

    /// The raw payload, whichever of `plain` / `cipher` is set (empty when none).
    public var payloadBytes: Data {
        switch payload {
        case .plain(let data)?, .cipher(let data)?: data
        case nil: Data()
        }
    }

    private func appendAddress(_ address: RMBAddress?, to out: inout [UInt8]) {
        guard let address else { out.append(0x30); return }   // absent reads as twin 0
        appendDecimal(UInt64(address.twin), to: &out)
        if address.hasConnection { out.append(contentsOf: address.connection.utf8) }
    }
}

@inline(__always)
func appendDecimal(_ value: UInt64, to out: inout [UInt8]) {
    if value == 0 { out.append(0x30); return }
    var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                 UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
        (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    var count = 0
    var v = value
    withUnsafeMutableBytes(of: &digits) { buffer in
        while v > 0 {
            buffer[count] = UInt8(truncatingIfNeeded: v % 10) + 0x30
            v /= 10
            count += 1
        }
        for i in stride(from: count - 1, through: 0, by: -1) { out.append(buffer[i]) }
    }
}
