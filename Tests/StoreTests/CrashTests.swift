import Foundation
import Testing
@testable import Store

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// kill -9 durability: `rmb store crash-writer` writes units [enqueue + inbox record + backlog
/// put] as fast as it can with 8 concurrent writers, printing each acknowledged unit, and
/// removes every third entry again. It is SIGKILLed at random moments; after each kill the
/// store is reopened and must hold every acknowledged unit exactly once, all or nothing of
/// every unit, and pass the consistency check.
@Suite(.serialized) struct CrashTests {
    static let rounds = 30

    @Test func everyAcknowledgedWriteSurvivesKill9() async throws {
        let executable = rmbExecutable
        try #require(FileManager.default.isExecutableFile(atPath: executable), "rmb not built at \(executable)")
        let directory = try TemporaryDirectory()
        var totalAcks = 0
        var totalDeletes = 0
        for round in 0..<Self.rounds {
            let child = try ChildProcess([executable, "store", "crash-writer", "--path", directory.path, "--workers", "8", "--prefix", "r\(round)"])
            // Let it start writing, then kill it at a random moment.
            let started = ContinuousClock.now
            while child.completeLines.isEmpty && ContinuousClock.now - started < .seconds(20) {
                try await Task.sleep(for: .milliseconds(2))
            }
            try await Task.sleep(for: .milliseconds(Int.random(in: 0...300)))
            child.kill(SIGKILL)
            let status = child.wait()
            #expect(status & 0x7F == SIGKILL, "round \(round): the writer exited by itself (status \(status))")

            let lines = child.completeLines
            let outcome = try await check(round: round, lines: lines, path: directory.path)
            #expect(outcome.acks > 0, "round \(round): no acknowledged write before the kill")
            totalAcks += outcome.acks
            totalDeletes += outcome.deletes
        }
        print("crash test: \(Self.rounds) SIGKILL rounds, \(totalAcks) acknowledged units, \(totalDeletes) acknowledged removals, all verified")
    }

    private struct Outcome {
        var acks = 0
        var deletes = 0
    }

    private func check(round: Int, lines: [String], path: String) async throws -> Outcome {
        var acked: [String: UInt64] = [:]
        var deleted: Set<String> = []
        for line in lines {
            let parts = line.split(separator: " ")
            guard parts.count == 3, let seq = UInt64(parts[2]) else {
                Issue.record("round \(round): unexpected line '\(line)'")
                continue
            }
            switch parts[0] {
            case "ack": acked[String(parts[1])] = seq
            case "del": deleted.insert(String(parts[1]))
            default: Issue.record("round \(round): unexpected line '\(line)'")
            }
        }

        let store = try Store.open(path: path, mapSize: 1 << 30)
        defer { _ = store }
        let report = try store.verifyConsistency()
        #expect(report.isConsistent, "round \(round): \(report.problems)")

        for (uid, seq) in acked {
            let entries = try store.outbox.entries(uid: uid)
            let backlog = try store.backlog.get(uid: uid)
            let parts = uid.split(separator: "-")
            let index = parts.count == 3 ? Int(parts[2]) ?? -1 : -1
            let next = parts.count == 3 ? "\(parts[0])-\(parts[1])-\(index + 1)" : ""
            // The inbox record is never removed by the writer.
            #expect(try store.inbox.state(InboxKey(source: UInt32(parts.count == 3 ? Int(parts[1]) ?? 0 : 0), uid: uid, kind: .request)) == .pending,
                    "round \(round): inbox record of \(uid) missing")
            if deleted.contains(uid) {
                #expect(entries.isEmpty && backlog == nil, "round \(round): \(uid) removal acknowledged but still present")
            } else if index % 3 == 1 && acked[next] != nil {
                // Its removal may have committed without the line being printed: all or nothing.
                #expect(entries.map(\.seq) == [seq] && backlog != nil || entries.isEmpty && backlog == nil,
                        "round \(round): \(uid) half removed (\(entries.count) outbox entries, backlog \(backlog != nil))")
            } else {
                #expect(entries.map(\.seq) == [seq], "round \(round): acknowledged \(uid) seq \(seq) found as \(entries.map(\.seq))")
                #expect(backlog != nil, "round \(round): backlog of acknowledged \(uid) missing")
            }
        }

        // Units are atomic also when unacknowledged: every outbox entry has its backlog entry
        // and every backlog entry its outbox entry.
        let outboxUIDs = try store.env.read { txn in
            var uids: [String] = []
            try txn.forEach(store.dbs.outbox) { _, value in
                uids.append(try OutboxEntry(decoding: value).uid)
                return .continue
            }
            return uids
        }
        #expect(Set(outboxUIDs).count == outboxUIDs.count, "round \(round): a uid is in the outbox twice")
        for uid in outboxUIDs where try store.backlog.get(uid: uid) == nil {
            Issue.record("round \(round): outbox entry \(uid) without its backlog entry")
        }
        #expect(try store.backlog.count() == outboxUIDs.count, "round \(round): backlog and outbox differ")
        await store.close()
        return Outcome(acks: acked.count, deletes: deleted.count)
    }
}
