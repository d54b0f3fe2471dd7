import TwinDirectory
import Foundation
import RMBIdentity
import RMBProtocol
@testable import RMBRelay

/// The public test identities of Tests/Fixtures/vectors/identities.json (sr25519).
struct TestIdentity: Sendable {
    let name: String
    let twin: UInt32
    let identity: Identity

    static let all: [TestIdentity] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fixtures/vectors/identities.json")
        guard let data = try? Data(contentsOf: url),
              let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let list = root["identities"] as? [[String: Any]] else { return [] }
        return list.compactMap { item in
            guard let name = item["name"] as? String, let secret = item["secret"] as? String,
                  let twin = item["twin_id"] as? Int,
                  let identity = try? Identity(parsing: secret, keyType: .sr25519) else { return nil }
            return TestIdentity(name: name, twin: UInt32(twin), identity: identity)
        }
    }()

    static var dev: TestIdentity { all[0] }
    static var alpha: TestIdentity { all[1] }
    static var beta: TestIdentity { all[2] }

    func token(sid: String? = nil, issuedAt: UInt64 = unixNow(), lifetime: UInt64 = 300) throws -> String {
        try RelayToken.make(identity: identity, twin: twin, sid: sid, issuedAt: issuedAt, lifetime: lifetime)
    }

    /// A signed request envelope from this twin to `destination`.
    func request(to destination: RMBAddress, sid: String? = nil, uid: String = UUID().uuidString,
                 payload: String = "hello", tags: String? = nil, command: String = "test.echo") throws -> RMBEnvelope {
        var envelope = RMBEnvelope()
        envelope.uid = uid
        envelope.timestamp = unixNow()
        envelope.expiration = 300
        envelope.source = RMBAddress(twin: twin, connection: sid)
        envelope.destination = destination
        var request = RMBRequest()
        request.command = command
        envelope.message = .request(request)
        envelope.payload = .plain(Data(payload.utf8))
        if let tags { envelope.tags = tags }
        try envelope.sign(with: identity)
        return envelope
    }
}

/// An in-memory directory for tests; `failing` makes every lookup throw.
final class MemoryTwins: TwinDirectory, @unchecked Sendable {
    private let lock = NSLock()
    private var twins: [UInt32: Twin] = [:]
    var failing = false

    init(_ entries: [(TestIdentity, [String])] = []) {
        for (identity, relays) in entries { set(identity, relays: relays) }
    }

    func set(_ identity: TestIdentity, relays: [String]) {
        lock.withLock {
            twins[identity.twin] = Twin(id: identity.twin, account: identity.identity.account,
                                        relays: relays.compactMap { try? RelayAddress(parsing: $0) })
        }
    }

    struct LookupFailed: Error, CustomStringConvertible { var description: String { "directory unavailable" } }

    func twin(id: UInt32) async throws -> Twin? {
        try lock.withLock {
            if failing { throw LookupFailed() }
            return twins[id]
        }
    }

    func twinID(account: AccountID) async throws -> UInt32? {
        lock.withLock { twins.values.first { $0.account == account }?.id }
    }
}
