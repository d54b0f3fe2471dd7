import CLMDB
import Foundation
import Testing
@testable import LMDB

@Suite struct LMDBLimitsTests {
    /// Fills a small map one committed transaction at a time; returns how many committed.
    private func fill(_ env: LMDBEnvironment, _ db: LMDBDatabase, from start: Int = 0) throws -> Int {
        var committed = start
        while true {
            do {
                try env.write { txn in try txn.put(db, key(committed), [UInt8](repeating: UInt8(committed % 251), count: 1000)) }
                committed += 1
            } catch LMDBError.mapFull {
                return committed
            }
            if committed > 100_000 { Issue.record("map never filled"); return committed }
        }
    }

    private func expectIntact(_ env: LMDBEnvironment, _ db: LMDBDatabase, count: Int) throws {
        try env.read { (txn) throws in
            #expect(try txn.count(db) == count)
            for number in 0..<count {
                #expect(try txn.get(db, key(number)) == [UInt8](repeating: UInt8(number % 251), count: 1000))
            }
        }
    }

    @Test func mapFullIsAnErrorAndKeepsCommittedData() throws {
        let dir = try TemporaryDirectory()
        var committed = 0
        do {
            let env = try LMDBEnvironment.open(path: dir.path, mapSize: 256 * 1024, maxDatabases: 1)
            let db = try env.openDatabase(name: "outbox")
            committed = try fill(env, db)
            #expect(committed > 10)
            #expect(throws: LMDBError.mapFull) {
                try env.write { txn in try txn.put(db, key(committed), [UInt8](repeating: 1, count: 1000)) }
            }
            try expectIntact(env, db, count: committed)
            #expect(LMDBError.mapFull.description.contains("map is full"))
            env.close()
        }
        // Reopen with the same size: everything committed is there, nothing half-written.
        do {
            let env = try LMDBEnvironment.open(path: dir.path, mapSize: 256 * 1024, maxDatabases: 1)
            let db = try env.openDatabase(name: "outbox", create: false)
            try expectIntact(env, db, count: committed)
            // Growing the map in place makes room again.
            try env.setMapSize(1 << 20)
            #expect(try env.info().mapSize == 1 << 20)
            let more = try fill(env, db, from: committed)
            #expect(more > committed * 2)
            try expectIntact(env, db, count: more)
            env.close()
        }
    }

    @Test func concurrentReadersWhileWriterCommits() async throws {
        let dir = try TemporaryDirectory()
        let env = try LMDBEnvironment.open(path: dir.path, mapSize: 16 << 20, maxDatabases: 1, maxReaders: 64)
        let db = try env.openDatabase(name: "pairs")
        try env.write { (txn) throws in
            try txn.put(db, "a".bytes, key(0))
            try txn.put(db, "b".bytes, key(0))
        }
        let rounds = 300
        // The writer stays on one thread for each transaction, as LMDB requires.
        async let writer: Void = withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            Thread {
                for round in 1...rounds {
                    try? env.write { (txn) throws in
                        try txn.put(db, "a".bytes, key(round))
                        try txn.put(db, "b".bytes, key(round))
                    }
                }
                done.resume()
            }.start()
        }
        let violations = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<32 {
                group.addTask {
                    var bad = 0
                    var last: [UInt8] = key(0)
                    for _ in 0..<200 {
                        let pair = try? env.read { txn in (try txn.get(db, "a".bytes), try txn.get(db, "b".bytes)) }
                        guard let (a, b) = pair, let a, let b else { bad += 1; continue }
                        if a != b || a.lexicographicallyPrecedes(last) { bad += 1 }
                        last = a
                        await Task.yield()
                    }
                    return bad
                }
            }
            return await group.reduce(0, +)
        }
        await writer
        #expect(violations == 0)
        #expect(try env.read { try $0.get(db, "a".bytes) } == key(rounds))
    }

    @Test func garbagePathsGiveClearErrors() throws {
        let dir = try TemporaryDirectory()
        let file = dir.path + "/not-a-directory"
        try Data("hello, not lmdb".utf8).write(to: URL(fileURLWithPath: file))

        // A regular file where a directory is expected.
        do {
            _ = try LMDBEnvironment.open(path: file)
            Issue.record("opened a regular file as an environment directory")
        } catch let error as LMDBError {
            guard case let .cannotOpen(path, _, _) = error else { Issue.record("unexpected \(error)"); return }
            #expect(path == file)
            #expect(error.description.contains(file))
        }

        // A file that is not an LMDB data file.
        let garbage = dir.path + "/garbage.mdb"
        try Data(repeating: 0xAB, count: 64 * 1024).write(to: URL(fileURLWithPath: garbage))
        do {
            _ = try LMDBEnvironment.open(path: garbage, flags: .noSubdirectory)
            Issue.record("opened garbage as LMDB")
        } catch let error as LMDBError {
            guard case let .cannotOpen(_, code, message) = error else { Issue.record("unexpected \(error)"); return }
            #expect(code == MDB_INVALID)
            #expect(message.contains("not an LMDB file"))
        }

        // A directory that cannot be created.
        #expect(throws: LMDBError.self) { try LMDBEnvironment.open(path: "/proc/rmb-no-such-dir/env") }
    }

    @Test func readOnlyEnvironmentRefusesWrites() throws {
        let dir = try TemporaryDirectory()
        do {
            let env = try LMDBEnvironment.open(path: dir.path, mapSize: 1 << 20, maxDatabases: 1)
            let db = try env.openDatabase(name: "d")
            try env.write { try $0.put(db, "k".bytes, "v".bytes) }
            env.close()
        }
        let env = try LMDBEnvironment.open(path: dir.path, mapSize: 1 << 20, maxDatabases: 1, flags: .readOnly)
        let db = try env.openDatabase(name: "d", create: false)
        #expect(try env.read { try $0.get(db, "k".bytes) } == "v".bytes)
        #expect(throws: LMDBError.self) { try env.write { try $0.put(db, "k".bytes, "w".bytes) } }
    }
}
