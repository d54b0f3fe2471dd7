import Foundation
import RMBIdentity
import RMBTestSupport
@testable import TwinDirectory

/// A monotonic clock the test moves by hand.
final class ManualClock: @unchecked Sendable {
    private let lock = NSLock()
    private var current = ContinuousClock.now

    var now: ContinuousClock.Instant { lock.withLock { current } }

    func advance(by duration: Duration) {
        lock.withLock { current = current.advanced(by: duration) }
    }
}

/// A directory that counts backend calls and can be made slow or failing.
actor CountingDirectory: TwinDirectory {
    private var twins: [UInt32: Twin]
    private(set) var twinCalls: [UInt32: Int] = [:]
    private(set) var accountCalls = 0
    private var delay: Duration = .zero
    private var failure: BackendDown?

    init(_ twins: [Twin]) {
        self.twins = Dictionary(twins.map { ($0.id, $0) }, uniquingKeysWith: { $1 })
    }

    func set(delay: Duration) { self.delay = delay }
    func set(failure: BackendDown?) { self.failure = failure }
    func set(_ twin: Twin) { twins[twin.id] = twin }
    func totalTwinCalls() -> Int { twinCalls.values.reduce(0, +) }

    func twin(id: UInt32) async throws -> Twin? {
        twinCalls[id, default: 0] += 1
        if delay > .zero { try await Task.sleep(for: delay) }
        if let failure { throw failure }
        return twins[id]
    }

    func twinID(account: AccountID) async throws -> UInt32? {
        accountCalls += 1
        if delay > .zero { try await Task.sleep(for: delay) }
        if let failure { throw failure }
        return twins.values.first { $0.account == account }?.id
    }
}

struct BackendDown: Error, Equatable {}

/// Twins from vectors/twins.json plus made-up ones.
enum SampleTwins {
    static let devAccount = "5DfhGyQdFobKM8NsWvEeAKk5EQQgYe9AydgJ7rMB6E1EqRzV"
    static let devPK = "035b26108e8b97479c547da4860d862dc08ab2c29ada449c74d5a9a58a6c46a8c4"

    static func account(_ seed: UInt8) throws -> AccountID {
        try AccountID(bytes: [UInt8](repeating: seed, count: 32))
    }

    static func twin(_ id: UInt32, seed: UInt8? = nil, relays: [String] = [], pk: [UInt8]? = nil) throws -> Twin {
        Twin(
            id: id,
            account: try account(seed ?? UInt8(truncatingIfNeeded: id)),
            relays: try relays.map { try RelayAddress(parsing: $0) },
            e2ePublicKey: pk
        )
    }

    static func devTwin() throws -> Twin {
        Twin(
            id: 7,
            account: try AccountID(parsing: devAccount),
            relays: try ["127.0.0.1:8081", "http://localhost:8082", "relay.example.com"].map { try RelayAddress(parsing: $0) },
            e2ePublicKey: [UInt8](testHex: devPK)
        )
    }
}

/// A fresh directory under the system temp dir; call `cleanUp()` when done.
struct TemporaryDirectory {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "/twins-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String { path + "/" + name }

    func contents() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: path).sorted()
    }

    func write(_ text: String, to name: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: file(name)))
    }

    func read(_ name: String) throws -> String {
        String(decoding: try Data(contentsOf: URL(fileURLWithPath: file(name))), as: UTF8.self)
    }

    func cleanUp() {
        try? FileManager.default.removeItem(atPath: path)
    }
}
