import CLMDB
import Foundation
import Testing
@testable import LMDB

@Suite struct LMDBBasicTests {
    @Test func putGetDelete() throws {
        let dir = try TemporaryDirectory()
        let env = try LMDBEnvironment.open(path: dir.path, mapSize: 1 << 20)
        let db = try env.openDatabase(name: nil)
        try env.write { (txn) throws in
            try txn.put(db, "a".bytes, [0, 1, 2, 0])
            try txn.put(db, "empty".bytes, [])
        }
        try env.read { (txn) throws in
            #expect(try txn.get(db, "a".bytes) == [0, 1, 2, 0])
            #expect(try txn.get(db, "empty".bytes) == [])
            #expect(try txn.get(db, "missing".bytes) == nil)
            #expect(try txn.count(db) == 2)
        }
        let deleted = try env.write { txn in (try txn.delete(db, "a".bytes), try txn.delete(db, "a".bytes)) }
        #expect(deleted == (true, false))
        #expect(try env.read { try $0.get(db, "a".bytes) } == nil)
    }

    @Test func readersCrossThreadsAndCommitsAreDurableByDefault() throws {
        let dir = try TemporaryDirectory()
        let env = try LMDBEnvironment.open(path: dir.path, mapSize: 1 << 20)
        #expect(env.flags & UInt32(MDB_NOTLS) != 0)
        #expect(env.flags & UInt32(MDB_NOSYNC | MDB_NOMETASYNC | MDB_MAPASYNC) == 0)
        #expect(env.staleReadersCleared == 0)
        #expect(try env.readerCheck() == 0)
    }

    @Test func noOverwriteAndBadKeys() throws {
        let dir = try TemporaryDirectory()
        let env = try LMDBEnvironment.open(path: dir.path, mapSize: 1 << 20)
        let db = try env.openDatabase(name: nil)
        try env.write { try $0.put(db, "k".bytes, "v1".bytes) }
        #expect(throws: LMDBError.keyExists) {
            try env.write { try $0.put(db, "k".bytes, "v2".bytes, flags: .noOverwrite) }
        }
        #expect(throws: LMDBError.badValueSize) { try env.write { try $0.put(db, [], "v".bytes) } }
        let tooLong = [UInt8](repeating: 1, count: env.maxKeySize + 1)
        #expect(throws: LMDBError.badValueSize) { try env.write { try $0.put(db, tooLong, "v".bytes) } }
        #expect(try env.read { try $0.get(db, "k".bytes) } == "v1".bytes)
    }

    @Test func throwingWriteAborts() throws {
        struct Boom: Error {}
        let dir = try TemporaryDirectory()
        let env = try LMDBEnvironment.open(path: dir.path, mapSize: 1 << 20)
        let db = try env.openDatabase(name: nil)
        #expect(throws: Boom.self) {
            try env.write { (txn) throws in
                try txn.put(db, "x".bytes, "1".bytes)
                throw Boom()
            }
        }
        #expect(try env.read { try $0.get(db, "x".bytes) } == nil)
    }

    @Test func transactionUnusableAfterClosure() throws {
        let dir = try TemporaryDirectory()
        let env = try LMDBEnvironment.open(path: dir.path, mapSize: 1 << 20)
        let db = try env.openDatabase(name: nil)
        let escaped = try env.read { $0 }
        #expect(throws: LMDBError.closed) { try escaped.get(db, "a".bytes) }
    }

    @Test func orderedCursor() throws {
        let dir = try TemporaryDirectory()
        let env = try LMDBEnvironment.open(path: dir.path, mapSize: 1 << 20)
        let db = try env.openDatabase(name: nil)
        try env.write { (txn) throws in
            for number in [5, 1, 9, 3, 7, 300, 256] { try txn.put(db, key(number), "\(number)".bytes) }
        }
        var all: [String] = []
        try env.read { (txn) throws in
            try txn.forEach(db) { _, value in
                all.append(String(decoding: value, as: UTF8.self))
                return .continue
            }
        }
        #expect(all == ["1", "3", "5", "7", "9", "256", "300"])

        var fromFour: [Int] = []
        let visited = try env.read { (txn) throws in
            try txn.forEach(db, from: key(4)) { key, _ in
                fromFour.append(Int(key.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }))
                return fromFour.count == 3 ? .stop : .continue
            }
        }
        #expect(fromFour == [5, 7, 9])
        #expect(visited == 3)

        let none = try env.read { txn in try txn.forEach(db, from: key(1000)) { _, _ in .continue } }
        #expect(none == 0)
    }

    @Test func namedDatabasesAreSeparate() throws {
        let dir = try TemporaryDirectory()
        let env = try LMDBEnvironment.open(path: dir.path, mapSize: 1 << 20, maxDatabases: 4)
        let outbox = try env.openDatabase(name: "outbox")
        let inbox = try env.openDatabase(name: "inbox")
        try env.write { (txn) throws in
            try txn.put(outbox, "k".bytes, "out".bytes)
            try txn.put(inbox, "k".bytes, "in".bytes)
            try txn.put(inbox, "k2".bytes, "in2".bytes)
        }
        try env.read { (txn) throws in
            #expect(try txn.get(outbox, "k".bytes) == "out".bytes)
            #expect(try txn.get(inbox, "k".bytes) == "in".bytes)
            #expect(try txn.count(outbox) == 1)
            #expect(try txn.count(inbox) == 2)
        }
        #expect(throws: LMDBError.notFound) { try env.openDatabase(name: "absent", create: false) }
        _ = try env.openDatabase(name: "third")
        _ = try env.openDatabase(name: "fourth")
        #expect(throws: LMDBError.databasesFull) { try env.openDatabase(name: "fifth") }
        try env.write { try $0.removeAll(inbox) }
        #expect(try env.read { try $0.count(inbox) } == 0)
    }

    @Test func reopenPersistsData() throws {
        let dir = try TemporaryDirectory()
        do {
            let env = try LMDBEnvironment.open(path: dir.path, mapSize: 1 << 20, maxDatabases: 2)
            let db = try env.openDatabase(name: "store")
            try env.write { (txn) throws in
                for number in 0..<100 { try txn.put(db, key(number), [UInt8](repeating: UInt8(number), count: number)) }
            }
            env.close()
            #expect(throws: LMDBError.closed) { try env.read { _ in } }
        }
        let env = try LMDBEnvironment.open(path: dir.path, mapSize: 1 << 20, maxDatabases: 2)
        #expect(throws: LMDBError.notFound) { try env.openDatabase(name: "other", create: false) }
        let db = try env.openDatabase(name: "store", create: false)
        try env.read { (txn) throws in
            #expect(try txn.count(db) == 100)
            #expect(try txn.get(db, key(42)) == [UInt8](repeating: 42, count: 42))
        }
    }

    @Test func statAndInfo() throws {
        let dir = try TemporaryDirectory()
        let env = try LMDBEnvironment.open(path: dir.path, mapSize: 4 << 20, maxDatabases: 2)
        let db = try env.openDatabase(name: "metrics")
        try env.write { (txn) throws in
            for number in 0..<500 { try txn.put(db, key(number), [UInt8](repeating: 7, count: 300)) }
        }
        let info = try env.info()
        #expect(info.mapSize == 4 << 20)
        #expect(info.lastPageNumber > 10)
        #expect(info.lastTransactionID >= 2)
        let stat = try env.read { try $0.stat(db) }
        #expect(stat.entries == 500)
        #expect(stat.pageSize > 0)
        #expect(stat.usedBytes >= 500 * 300)
        #expect(try env.stat().entries == 1)   // the main tree holds the one named database
    }
}
