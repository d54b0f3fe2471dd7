import ArgumentParser
import Foundation
import Store

/// `rmb store …`: look into a peer's message store, and the crash-test writer.
struct StoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "Inspect an rmb-peer message store (LMDB).",
        subcommands: [Stats.self, CrashWriter.self]
    )

    struct Stats: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print queue depths and check the store's consistency.")
        @Option(help: "Store directory.") var path: String

        func run() async throws {
            try await reportingBadInput {
                let store = try Store.open(path: path)
                let read = Result { (try store.stats(), try store.verifyConsistency()) }
                await store.close()
                let (stats, report) = try read.get()
                print("outbox   \(stats.outbox.entries) entries, \(stats.outbox.bytes) bytes, oldest deadline \(stats.outbox.oldestDeadline?.description ?? "-")")
                print("inbox    \(stats.inbox.entries) keys (\(stats.inboxPending) pending), \(stats.inbox.bytes) bytes")
                print("backlog  \(stats.backlog.entries) entries, \(stats.backlog.bytes) bytes")
                print("awaiting \(stats.awaiting.entries) requests without a reply, \(stats.awaiting.bytes) bytes")
                print("map      \(stats.mapUsedBytes) of \(stats.mapSize) bytes used")
                print(report.isConsistent ? "consistent" : "INCONSISTENT:\n" + report.problems.joined(separator: "\n"))
                if !report.isConsistent { throw ExitCode(1) }
            }
        }
    }

    /// The child of the crash test: writes as fast as it can and prints every acknowledged
    /// write, one flushed line each, until killed (or `--count` units were written).
    ///
    /// Lines: `ack <uid> <seq>` after a unit [enqueue + inbox record + backlog put] committed;
    /// `del <uid> <seq>` after that entry's outbox and backlog removal committed.
    struct CrashWriter: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "crash-writer", shouldDisplay: false)
        @Option(help: "Store directory.") var path: String
        @Option(help: "Concurrent writers.") var workers: Int = 8
        @Option(help: "Stop after this many units per worker (default: until killed).") var count: Int = Int.max
        @Option(help: "Prefix of the uids (distinct per run).") var prefix: String = "r"

        func run() async throws {
            try await reportingBadInput {
                guard workers > 0, count > 0 else { throw InputError("--workers and --count must be positive") }
                let (path, workers, count, prefix) = (self.path, self.workers, self.count, self.prefix)
                let store = try Store.open(path: path)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for worker in 0..<workers {
                        group.addTask { try await crashWriterLoop(store: store, worker: worker, count: count, prefix: prefix) }
                    }
                    try await group.waitForAll()
                }
                await store.close()
            }
        }
    }
}

private func crashWriterLoop(store: Store, worker: Int, count: Int, prefix: String) async throws {
    let payload = [UInt8](repeating: UInt8(truncatingIfNeeded: worker), count: 300)
    var previous: (uid: String, seq: UInt64)?
    for index in 0..<count {
        let uid = "\(prefix)-\(worker)-\(index)"
        let deadline = StoreTime.now.adding(milliseconds: 3_600_000)
        let results = try await store.commit([
            .enqueue(OutboxDraft(uid: uid, destination: UInt32(worker), kind: .request, payload: payload, deadline: deadline)),
            .recordInbox(InboxDraft(key: InboxKey(source: UInt32(worker), uid: uid, kind: .request), deadline: deadline, payload: payload)),
            .putBacklog(BacklogEntry(uid: uid, reference: "ref", replyTo: "ret", destinations: [UInt32(worker)], deadline: deadline)),
        ])
        guard case let .enqueued(seq)? = results.first else { throw InputError("unexpected commit result") }
        writeLine("ack \(uid) \(seq)")
        // Every third unit removes the previous one, so pages are freed and reused as in the peer.
        if index % 3 == 2, let (oldUID, oldSeq) = previous {
            _ = try await store.commit([.removeOutbox(seq: oldSeq), .removeBacklog(uid: oldUID)])
            writeLine("del \(oldUID) \(oldSeq)")
        }
        previous = (uid, seq)
    }
}

/// One line straight to fd 1 (no buffering: the line is out before the next write starts, and
/// a pipe write below PIPE_BUF is atomic, so concurrent writers never interleave).
private func writeLine(_ line: String) {
    let bytes = Array((line + "\n").utf8)
    bytes.withUnsafeBytes { buffer in
        var offset = 0
        while offset < buffer.count, let base = buffer.baseAddress {
            let written = write(1, base + offset, buffer.count - offset)
            if written <= 0 { return }
            offset += written
        }
    }
}
