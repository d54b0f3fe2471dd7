import RMBIdentity
import TOMLKit

/// A TOML file of twins, for networks without a blockchain (tests, demos, private setups).
///
/// Format:
/// ```toml
/// # twins.toml
/// [[twin]]
/// id = 7                                                         # 1 ... 4294967295, unique
/// account = "5DfhGyQdFobKM8NsWvEeAKk5EQQgYe9AydgJ7rMB6E1EqRzV"  # SS58 or 64 hex digits (0x optional), unique
/// pk = "035b26108e8b97479c547da4860d862dc08ab2c29ada449c74d5a9a58a6c46a8c4"  # optional: 33-byte secp256k1 e2e key, hex
/// relays = ["127.0.0.1:8081", "http://localhost:8082", "relay.example.com"]  # optional, default []
/// ```
/// * One `[[twin]]` table per twin; no other top-level keys and no other keys in a twin
///   (typos such as `relay =` are reported instead of silently ignored).
/// * A relay is `host`, `host:port`, `[v6]:port`, or any of these after `https://`, `http://`,
///   `wss://` or `ws://`. Without a scheme it means TLS (`wss`/`https`), as on chain; use
///   `http://` for plain-text relays. Duplicate relays within one twin are an error.
/// * Without `pk` messages to the twin are not end-to-end encrypted.
///
/// Files written by this type are sorted by id, list `account` as SS58, relays in canonical
/// form, and do not keep comments. Every write is atomic: temporary file, fsync, rename, fsync of
/// the directory, so a crash leaves the old or the new file, never half of one.
public enum LocalTwinFile {
    /// Twin files are small; anything bigger is a mistake (or an attack) and is refused.
    public static let maximumFileSize = 8 * 1024 * 1024

    // MARK: Whole-file operations

    /// Reads and validates the file. Throws ``LocalTwinFileError/fileNotFound(path:)`` if it
    /// does not exist.
    public static func load(from path: String) throws(LocalTwinFileError) -> [Twin] {
        try read(path).twins
    }

    /// Writes the twins atomically, after checking the text reads back to the same twins.
    public static func save(_ twins: [Twin], to path: String) throws(LocalTwinFileError) {
        let text = render(twins)
        guard try parse(text, path: path) == twins.sorted(by: { $0.id < $1.id }) else {
            throw .unwritable(path: path, reason: "internal error: rendered file does not read back identically")
        }
        do {
            try TwinFileIO.writeAtomically(Array(text.utf8), to: path)
        } catch {
            throw .unwritable(path: path, reason: describe(error))
        }
    }

    /// Adds `twin`, or replaces the twin with the same id. Creates the file if it is missing.
    /// Refuses an account that already belongs to a different id. Returns the twins written.
    @discardableResult
    public static func upsert(_ twin: Twin, inFileAt path: String) throws(LocalTwinFileError) -> [Twin] {
        var twins: [Twin]
        do {
            twins = try load(from: path)
        } catch .fileNotFound {
            twins = []
        }
        if let owner = twins.first(where: { $0.account == twin.account && $0.id != twin.id }) {
            throw .accountInUse(path: path, account: twin.account.ss58, ownerID: owner.id)
        }
        twins.removeAll { $0.id == twin.id }
        twins.append(twin)
        try validate(twin, index: twins.count, path: path)
        try save(twins, to: path)
        return twins.sorted { $0.id < $1.id }
    }

    /// Removes the twin with this id. Returns `false` (and leaves the file untouched) when there
    /// is no such twin; throws ``LocalTwinFileError/fileNotFound(path:)`` if there is no file.
    @discardableResult
    public static func remove(id: UInt32, fromFileAt path: String) throws(LocalTwinFileError) -> Bool {
        var twins = try load(from: path)
        let before = twins.count
        twins.removeAll { $0.id == id }
        guard twins.count != before else { return false }
        try save(twins, to: path)
        return true
    }

    // MARK: Text

    /// Parses file content; `path` is only used in error messages.
    public static func parse(_ text: String, path: String) throws(LocalTwinFileError) -> [Twin] {
        // toml++ reads a C string: a NUL would silently end the document early.
        guard !text.utf8.contains(0) else {
            throw .invalidTOML(path: path, line: 0, column: 0, message: "contains a NUL byte")
        }
        // toml++ asserts on some malformed input; see TOMLInputGuard.
        if let rejection = TOMLInputGuard.check(text) {
            throw .invalidTOML(path: path, line: rejection.line, column: rejection.column, message: rejection.message)
        }
        let root: TOMLTable
        do {
            root = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw .invalidTOML(path: path, line: error.source.begin.line, column: error.source.begin.column, message: error.description)
        } catch {
            throw .invalidTOML(path: path, line: 0, column: 0, message: "\(error)")
        }
        if let unknown = root.keys.first(where: { $0 != "twin" }) {
            throw .invalidStructure(path: path, message: "unknown top-level key \(String(reflecting: unknown)) (only [[twin]] tables are allowed)")
        }
        guard let entries = root["twin"] else { return [] }
        guard let array = entries.array else {
            throw .invalidStructure(path: path, message: "'twin' must be an array of tables: write [[twin]], not [twin]")
        }

        var twins: [Twin] = []
        var indexByID: [UInt32: Int] = [:]
        var indexByAccount: [AccountID: Int] = [:]
        for (offset, entry) in array.enumerated() {
            let index = offset + 1
            guard let table = entry.table else {
                throw .invalidStructure(path: path, message: "entry #\(index) of 'twin' is not a table: write [[twin]] sections")
            }
            let twin = try parseTwin(table, index: index, path: path)
            if let first = indexByID.updateValue(index, forKey: twin.id) {
                throw .duplicateID(path: path, id: twin.id, firstIndex: first, secondIndex: index)
            }
            if let first = indexByAccount.updateValue(index, forKey: twin.account) {
                throw .duplicateAccount(path: path, account: twin.account.ss58, firstIndex: first, secondIndex: index)
            }
            twins.append(twin)
        }
        return twins
    }

    /// File text for these twins, sorted by id.
    public static func render(_ twins: [Twin]) -> String {
        let array = TOMLArray()
        for twin in twins.sorted(by: { $0.id < $1.id }) {
            let table = TOMLTable()
            table["id"] = Int(twin.id)
            table["account"] = twin.account.ss58
            if let key = twin.e2ePublicKey { table["pk"] = Hex.encode(key) }
            table["relays"] = TOMLArray(twin.relays.map(\.canonical))
            array.append(table)
        }
        let root = TOMLTable()
        root["twin"] = array
        return header + root.convert(to: .toml, options: [.allowUnicodeStrings]) + "\n"
    }

    private static let header = """
        # Twins for an RMB network without a blockchain. Written by `rmb twin`: comments are not kept.
        # Each [[twin]] has: id, account (SS58 or hex), optional pk (hex e2e key), relays.


        """

    // MARK: Private

    /// Reads and parses; also used by ``LocalTwinDirectory`` which needs the raw bytes and signature.
    static func read(_ path: String) throws(LocalTwinFileError) -> (twins: [Twin], bytes: [UInt8], signature: TwinFileIO.Signature) {
        let file: (bytes: [UInt8], signature: TwinFileIO.Signature)
        do {
            file = try TwinFileIO.read(path, maximumSize: maximumFileSize)
        } catch .notFound {
            throw .fileNotFound(path: path)
        } catch {
            throw .unreadable(path: path, reason: describe(error))
        }
        let text = String(decoding: file.bytes, as: UTF8.self)
        guard text.utf8.elementsEqual(file.bytes) else {   // decoding replaced invalid sequences
            throw .invalidTOML(path: path, line: 0, column: 0, message: "not UTF-8 text")
        }
        return (try parse(text, path: path), file.bytes, file.signature)
    }

    private static let allowedKeys: Set<String> = ["id", "account", "pk", "relays"]

    private static func parseTwin(_ table: TOMLTable, index: Int, path: String) throws(LocalTwinFileError) -> Twin {
        func fail(_ field: String, _ message: String) -> LocalTwinFileError {
            .invalidTwin(path: path, index: index, field: field, message: message)
        }
        if let unknown = table.keys.sorted().first(where: { !allowedKeys.contains($0) }) {
            throw fail(unknown, "unknown key (allowed: id, account, pk, relays)")
        }

        guard let idValue = table["id"] else { throw fail("id", "missing") }
        guard let number = idValue.int else { throw fail("id", "must be an integer") }
        guard let id = UInt32(exactly: number), id != 0 else { throw fail("id", "must be from 1 to 4294967295, got \(number)") }

        guard let accountValue = table["account"] else { throw fail("account", "missing") }
        guard let accountText = accountValue.string else { throw fail("account", "must be a string") }
        let account: AccountID
        do { account = try AccountID(parsing: accountText) } catch { throw fail("account", error.description) }

        var key: [UInt8]?
        if let pkValue = table["pk"] {
            guard let text = pkValue.string else { throw fail("pk", "must be a hex string") }
            do { key = try TwinValueParsing.e2ePublicKey(text) } catch { throw fail("pk", error.description) }
        }

        var relays: [RelayAddress] = []
        if let relaysValue = table["relays"] {
            guard let list = relaysValue.array else { throw fail("relays", "must be an array of strings") }
            for element in list {
                guard let text = element.string else { throw fail("relays", "must be an array of strings") }
                let relay: RelayAddress
                do { relay = try RelayAddress(parsing: text) } catch { throw fail("relays", error.description) }
                guard !relays.contains(relay) else { throw fail("relays", "duplicate relay \(relay.canonical)") }
                relays.append(relay)
            }
        }
        return Twin(id: id, account: account, relays: relays, e2ePublicKey: key)
    }

    /// Checks an in-memory twin against the file's rules before writing, so a bad value is
    /// reported against the caller's twin rather than as a broken file.
    private static func validate(_ twin: Twin, index: Int, path: String) throws(LocalTwinFileError) {
        guard twin.id != 0 else { throw .invalidTwin(path: path, index: index, field: "id", message: "must be from 1 to 4294967295, got 0") }
        if let key = twin.e2ePublicKey {
            do { try TwinValueParsing.checkE2EPublicKey(key, shown: Hex.encode(key)) } catch {
                throw .invalidTwin(path: path, index: index, field: "pk", message: error.description)
            }
        }
        if Set(twin.relays).count != twin.relays.count {
            throw .invalidTwin(path: path, index: index, field: "relays", message: "duplicate relays")
        }
    }

    private static func describe(_ failure: TwinFileIO.Failure) -> String {
        switch failure {
        case .notFound: "no such file or directory"
        case let .failed(reason): reason
        }
    }
}
