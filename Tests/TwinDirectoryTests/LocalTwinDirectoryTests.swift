import Foundation
import Testing
@testable import TwinDirectory

@Suite struct LocalTwinDirectoryTests {
    @Test func answersLookupsFromTheFile() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        try directory.write(LocalTwinFileTests.example, to: "twins.toml")
        let twins = try LocalTwinDirectory(path: directory.file("twins.toml"))

        #expect(await twins.twin(id: 7) == (try SampleTwins.devTwin()))
        #expect(await twins.twin(id: 8) == nil)
        #expect(await twins.twinID(account: try SampleTwins.devTwin().account) == 7)
        #expect(await twins.twinID(account: try SampleTwins.account(1)) == nil)
        #expect(await twins.allTwins().map(\.id) == [7, 41, 55])
        let generic: any TwinDirectory = twins
        #expect(try await generic.twin(id: 41)?.id == 41)
    }

    @Test func missingOrInvalidFileFailsToLoad() throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        #expect(throws: LocalTwinFileError.fileNotFound(path: directory.file("none.toml"))) {
            try LocalTwinDirectory(path: directory.file("none.toml"))
        }
        try directory.write("[[twin]]\nid = 1", to: "bad.toml")
        #expect(throws: LocalTwinFileError.invalidTwin(path: directory.file("bad.toml"), index: 1, field: "account", message: "missing")) {
            try LocalTwinDirectory(path: directory.file("bad.toml"))
        }
    }

    @Test func reloadsAfterAnExternalChange() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        try directory.write(LocalTwinFileTests.example, to: "twins.toml")
        let twins = try LocalTwinDirectory(path: directory.file("twins.toml"), reloadCheckInterval: .zero)
        #expect(await twins.twin(id: 41) != nil)

        // In-place rewrite (same inode), done immediately: caught by the content comparison.
        let edited = LocalTwinFileTests.example.replacingOccurrences(of: "id = 41", with: "id = 42")
        try directory.write(edited, to: "twins.toml")
        #expect(await twins.twin(id: 41) == nil)
        #expect(await twins.twin(id: 42) != nil)

        // A broken edit keeps the last good data and records the problem…
        try directory.write("[[twin]]\nid = ", to: "twins.toml")
        #expect(await twins.twin(id: 42) != nil)
        #expect(await twins.lastReloadError != nil)

        // …until the file is fixed.
        try directory.write(LocalTwinFileTests.example, to: "twins.toml")
        #expect(await twins.twin(id: 41) != nil)
        #expect(await twins.lastReloadError == nil)

        // A deleted file also keeps the last good data.
        try FileManager.default.removeItem(atPath: directory.file("twins.toml"))
        #expect(await twins.twin(id: 41) != nil)
        #expect(await twins.lastReloadError == .fileNotFound(path: directory.file("twins.toml")))
    }

    @Test func checksAtMostOncePerInterval() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        try directory.write(LocalTwinFileTests.example, to: "twins.toml")
        let twins = try LocalTwinDirectory(path: directory.file("twins.toml"), reloadCheckInterval: .seconds(3600))
        try LocalTwinFile.remove(id: 41, fromFileAt: directory.file("twins.toml"))
        #expect(await twins.twin(id: 41) != nil)       // not checked yet
        try await twins.reload()
        #expect(await twins.twin(id: 41) == nil)       // explicit reload always reads
    }

    @Test func upsertAndRemoveWriteThroughAtomically() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        try directory.write(LocalTwinFileTests.example, to: "twins.toml")
        let path = directory.file("twins.toml")
        let twins = try LocalTwinDirectory(path: path, reloadCheckInterval: .seconds(3600))

        let twin = try SampleTwins.twin(9, relays: ["http://127.0.0.1:8081"])
        try await twins.upsert(twin)
        #expect(await twins.twin(id: 9) == twin)
        #expect(await twins.twinID(account: twin.account) == 9)
        #expect(try LocalTwinFile.load(from: path).contains(twin))

        #expect(try await twins.remove(id: 9) == true)
        #expect(try await twins.remove(id: 9) == false)
        #expect(await twins.twin(id: 9) == nil)
        #expect(try directory.contents() == ["twins.toml"])

        // Another process's view: a second directory on the same file sees the changes.
        let other = try LocalTwinDirectory(path: path, reloadCheckInterval: .zero)
        try await twins.upsert(twin)
        #expect(await other.twin(id: 9) == twin)
    }

    @Test func concurrentWritersThroughOneDirectoryNeverCorruptTheFile() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let path = directory.file("twins.toml")
        try LocalTwinFile.save([], to: path)
        let twins = try LocalTwinDirectory(path: path, reloadCheckInterval: .zero)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for id in 1...40 {
                group.addTask { try await twins.upsert(try SampleTwins.twin(UInt32(id))) }
                group.addTask { _ = await twins.twin(id: UInt32(id)) }
            }
            try await group.waitForAll()
        }
        #expect(try LocalTwinFile.load(from: path).map(\.id) == Array(1...40))
        #expect(try directory.contents() == ["twins.toml"])
    }
}
