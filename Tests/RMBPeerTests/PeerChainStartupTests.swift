import Foundation
import RMBTestSupport
import SubstrateTestSupport
import Testing

/// rmb-peer's start-up against tfchain (peer.md §1.5–1.8), with a scripted node: the own twin
/// is found by account, its record brought in line with a signed `update_twin` (keeping relays
/// the peer was not given), and every refusal is clear. Redis is pointed at a closed port so
/// the peer stops right after the chain part ("cannot reach Redis").
@Suite("rmb-peer start-up on tfchain", .timeLimit(.minutes(2)))
struct PeerChainStartupTests {
    static let dev = "bottom drive obey lake curtain smoke basket hold race lonely fit walk"

    struct Outcome { let status: Int32; let stderr: String }

    static func peer(_ arguments: [String]) async throws -> Outcome {
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        while directory.pathExtension == "xctest" || ["Contents", "MacOS"].contains(directory.lastPathComponent) {
            directory.deleteLastPathComponent()
        }
        let store = FileManager.default.temporaryDirectory.appendingPathComponent("rmb-peer-chain-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: store) }
        let process = Process()
        process.executableURL = directory.appendingPathComponent("rmb-peer")
        process.arguments = arguments + ["--redis", "redis://127.0.0.1:1", "--store", store]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        process.environment = ProcessInfo.processInfo.environment.filter { $0.key != "RMB_MNEMONIC" }
        try process.run()
        // Blocking reads and waits happen off the cooperative pool (two threads on this machine).
        let data = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                let data = errors.fileHandleForReading.readDataToEndOfFile()
                process.waitUntilExit()
                continuation.resume(returning: data)
            }
        }
        return Outcome(status: process.terminationStatus, stderr: String(decoding: data, as: UTF8.self))
    }

    static func hex(_ text: String) -> String { Array(text.utf8).map { String(format: "%02x", $0) }.joined() }

    @Test func missingRelaysAreAddedAndOthersKept() async throws {
        let fake = FakeTFChain()
        try fake.storeVectorTwins()          // twin 7 (dev): relay.example.com, pk = dev's key
        try fake.finalizeUpdates(inBlock: 130)
        let node = try await fake.start()
        let outcome = try await Self.peer(["--substrate", node.url, "-m", Self.dev, "--relay", "r9.example.net"])
        #expect(outcome.stderr.contains("cannot reach Redis"), "\(outcome.stderr)")
        let submitted = try #require(fake.with { $0.submitted.first }, "no update_twin submitted: \(outcome.stderr)")
        #expect(submitted.contains(Self.hex("r9.example.net_relay.example.com")))
        #expect(outcome.stderr.contains("keeping them"))
        #expect(outcome.stderr.contains("update_twin finalized"))
        await node.stop()
    }

    @Test func anUpToDateRecordIsLeftAlone() async throws {
        let fake = FakeTFChain()
        try fake.storeVectorTwins()
        let node = try await fake.start()
        let outcome = try await Self.peer(["--substrate", node.url, "-m", Self.dev, "--relay", "relay.example.com"])
        #expect(outcome.stderr.contains("twin record is up to date"), "\(outcome.stderr)")
        #expect(fake.with { $0.submitted.isEmpty })
        await node.stop()
    }

    @Test func replaceRelaysWritesExactlyTheGivenList() async throws {
        let fake = FakeTFChain()
        try fake.storeVectorTwins()
        try fake.finalizeUpdates(inBlock: 131)
        let node = try await fake.start()
        _ = try await Self.peer(["--substrate", node.url, "-m", Self.dev, "--relay", "r9.example.net", "--replace-relays"])
        let submitted = try #require(fake.with { $0.submitted.first })
        let field = Self.hex("r9.example.net")
        #expect(submitted.contains(field + "01"))                     // the field ends right before pk's Some
        #expect(!submitted.contains(Self.hex("relay.example.com")))
        await node.stop()
    }

    @Test func refusalsAreClear() async throws {
        let fake = FakeTFChain()
        try fake.storeVectorTwins()
        let node = try await fake.start()
        // A local relay cannot be published on chain…
        let local = try await Self.peer(["--substrate", node.url, "-m", Self.dev, "--relay", "http://127.0.0.1:8080"])
        #expect(local.status != 0)
        #expect(local.stderr.contains("cannot be published on chain"), "\(local.stderr)")
        // …unless the update is skipped.
        let skipped = try await Self.peer(["--substrate", node.url, "-m", Self.dev, "--relay", "http://127.0.0.1:8080", "--no-update"])
        #expect(skipped.stderr.contains("cannot reach Redis"), "\(skipped.stderr)")
        // A key without a twin.
        let stranger = try await Self.peer(["--substrate", node.url, "-m", "0x" + String(repeating: "11", count: 32), "--relay", "r1.example.com"])
        #expect(stranger.status != 0)
        #expect(stranger.stderr.contains("no twin found on this network with given key"), "\(stranger.stderr)")
        // --twins and --substrate together.
        let both = try await Self.peer(["--substrate", node.url, "--twins", "t.toml", "-m", Self.dev])
        #expect(both.status == 2)
        #expect(fake.with { $0.submitted.isEmpty })
        await node.stop()
    }
}
