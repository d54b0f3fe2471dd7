import Foundation
import NIOCore
import RMBIdentity
import RMBProtocol

/// The identities, twin file, session tokens and pre-signed envelopes of one bench run.
///
/// Two generated ed25519 twins: every sender session is `(senderTwin, "s<i>-<nonce>")`, every
/// receiver `(receiverTwin, "r<i>-<nonce>")`, idle ones `(senderTwin, "i<k>-<nonce>")` — one
/// twin can hold any number of sessions, and the nonce keeps streams left by an earlier run
/// (in a shared Redis) out of this one. Envelopes are signed before any timing starts, so the
/// client's signing cost is not measured (the relay does not verify envelope signatures).
struct RelayBenchFixture: Sendable {
    static let senderTwin: UInt32 = 4_000_000_001
    static let receiverTwin: UInt32 = 4_000_000_002
    /// Envelope uids are exactly this many decimal digits: the slot number, read back from the
    /// first bytes of a received frame without a full decode (uid is protobuf field 1).
    static let uidDigits = 8

    let sender: Identity
    let receiver: Identity
    let nonce: String

    init() throws {
        sender = try Identity(secret: MiniSecret(bytes: Self.randomBytes(32)), keyType: .ed25519)
        receiver = try Identity(secret: MiniSecret(bytes: Self.randomBytes(32)), keyType: .ed25519)
        nonce = String(UInt32.random(in: 0...UInt32.max), radix: 36)
    }

    private static func randomBytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }

    func senderSession(_ pair: Int) -> String { "s\(pair)-\(nonce)" }
    func receiverSession(_ pair: Int) -> String { "r\(pair)-\(nonce)" }
    func idleSession(_ index: Int) -> String { "i\(index)-\(nonce)" }

    /// The relay's `--twins` file: both twins served by the relay at `relay` (`http://host:port`).
    func twinFile(relay: String) -> String {
        var text = "# written by rmb bench relay\n"
        for (id, identity) in [(Self.senderTwin, sender), (Self.receiverTwin, receiver)] {
            text += "\n[[twin]]\nid = \(id)\naccount = \"\(identity.account.ss58)\"\nrelays = [\"\(relay)\"]\n"
        }
        return text
    }

    func senderToken(_ pair: Int) throws -> String {
        try RelayToken.make(identity: sender, twin: Self.senderTwin, sid: senderSession(pair), lifetime: 3600)
    }

    func receiverToken(_ pair: Int) throws -> String {
        try RelayToken.make(identity: receiver, twin: Self.receiverTwin, sid: receiverSession(pair), lifetime: 3600)
    }

    func idleToken(_ index: Int) throws -> String {
        try RelayToken.make(identity: sender, twin: Self.senderTwin, sid: idleSession(index), lifetime: 3600)
    }

    /// `slots` signed requests from sender `pair` to receiver `pair`, uid = zero-padded slot.
    func envelopes(pair: Int, slots: Int, payloadSize: Int) throws -> [ByteBuffer] {
        let payload = Data(repeating: 0x61, count: payloadSize)
        let now = unixNow()
        return try (0..<slots).map { slot in
            var envelope = RMBEnvelope()
            envelope.uid = Self.uid(slot)
            envelope.timestamp = now
            envelope.expiration = 3600
            envelope.source = RMBAddress(twin: Self.senderTwin, connection: senderSession(pair))
            envelope.destination = RMBAddress(twin: Self.receiverTwin, connection: receiverSession(pair))
            envelope.request = RMBRequest.with { $0.command = "bench.relay" }
            envelope.schema = "application/octet-stream"
            envelope.plain = payload
            try envelope.sign(with: sender)
            return ByteBuffer(bytes: try envelope.wireBytes())
        }
    }

    /// An RMB ping from sender `pair` to itself: the relay turns it into a pong and routes it
    /// back, after every frame the connection sent earlier (relay.md §4–5), so its arrival
    /// confirms that all of them were accepted.
    func marker(pair: Int) throws -> ByteBuffer {
        var envelope = RMBEnvelope()
        envelope.uid = "marker-\(pair)"
        envelope.timestamp = unixNow()
        envelope.expiration = 3600
        envelope.source = RMBAddress(twin: Self.senderTwin, connection: senderSession(pair))
        envelope.destination = envelope.source
        envelope.ping = RMBPing()
        return ByteBuffer(bytes: try envelope.wireBytes())
    }

    static func uid(_ slot: Int) -> String {
        let digits = String(slot)
        return String(repeating: "0", count: max(0, uidDigits - digits.count)) + digits
    }

    /// The slot of a bench envelope from its wire bytes (field 1 = uid, 8 digits), else nil.
    static func slot(of frame: ByteBuffer) -> Int? {
        frame.withUnsafeReadableBytes { bytes -> Int? in
            guard bytes.count >= 2 + uidDigits, bytes[0] == 0x0A, bytes[1] == UInt8(uidDigits) else { return nil }
            var value = 0
            for index in 2..<(2 + uidDigits) {
                let digit = Int(bytes[index]) - 48
                guard (0...9).contains(digit) else { return nil }
                value = value * 10 + digit
            }
            return value
        }
    }
}
