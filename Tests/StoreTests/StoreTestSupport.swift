import Foundation
import RMBTestSupport
@testable import Store

/// A fresh directory per test, removed afterwards.
final class TemporaryDirectory: Sendable {
    let path: String
    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("rmb-store-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// Opens a store in a fresh directory, runs `body`, closes it (and removes the directory).
func withStore<T>(mapSize: Int = 64 << 20, _ body: (Store, TemporaryDirectory) async throws -> T) async throws -> T {
    let directory = try TemporaryDirectory()
    let store = try Store.open(path: directory.path, mapSize: mapSize)
    do {
        let result = try await body(store, directory)
        await store.close()
        return result
    } catch {
        await store.close()
        throw error
    }
}

/// Opens a store whose writer runs on a manual clock, runs `body`, closes it. The meta page is
/// flushed as soon as the writer is idle unless `metaSyncDelay` says otherwise (the windows'
/// tests count the writer's clock waits).
func withClockedStore(durable: Bool = true, commitDelay: Duration = .zero, deferLimit: Duration = .milliseconds(20),
                      metaSyncDelay: Duration = .zero, _ body: (Store, ManualClock) async throws -> Void) async throws {
    let directory = try TemporaryDirectory()
    let clock = ManualClock()
    let store = try Store.open(path: directory.path, mapSize: 16 << 20, durable: durable, commitDelay: commitDelay,
                               deferLimit: deferLimit, metaSyncDelay: metaSyncDelay, clock: clock)
    do {
        try await body(store, clock)
    } catch {
        await store.close()
        throw error
    }
    await store.close()
}

/// Fixed instants so expiry tests never depend on the clock.
let t0 = StoreTime(seconds: 1_700_000_000)

func at(_ seconds: Int64) -> StoreTime { t0.adding(milliseconds: seconds * 1000) }

func draft(_ uid: String, to destination: UInt32 = 41, deadline: StoreTime = at(300), notBefore: StoreTime = t0, size: Int = 300) -> OutboxDraft {
    OutboxDraft(uid: uid, destination: destination, kind: .request, payload: [UInt8](repeating: UInt8(destination & 0xFF), count: size),
                deadline: deadline, notBefore: notBefore)
}

func inboxDraft(_ uid: String, from source: UInt32 = 7, kind: EnvelopeKind = .request, deadline: StoreTime = at(300)) -> InboxDraft {
    InboxDraft(key: InboxKey(source: source, uid: uid, kind: kind), deadline: deadline, payload: Array("payload of \(uid)".utf8))
}
