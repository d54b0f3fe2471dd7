import Logging
import RMBIdentity

/// A ``TwinDirectory`` backed by a local twin file (format: ``LocalTwinFile``).
///
/// The file may be edited while the process runs: before answering, the directory checks the
/// file at most once per `reloadCheckInterval` (one `stat`) and re-reads it when it changed.
/// If the new content is invalid (say, an editor saved half a line) the last good twins keep
/// being served, the problem is logged and kept in ``lastReloadError``, and the file is
/// checked again on the next interval. A deleted file is treated the same way.
public actor LocalTwinDirectory: TwinDirectory {
    public nonisolated let path: String
    private let reloadCheckInterval: Duration
    private let logger = Logger(label: "rmb.twin-directory.local")

    private var twinsByID: [UInt32: Twin] = [:]
    private var idsByAccount: [AccountID: UInt32] = [:]
    private var loadedBytes: [UInt8] = []
    private var loadedSignature: TwinFileIO.Signature?
    private var nextCheck: ContinuousClock.Instant

    /// Why the last automatic reload failed, or `nil` when the file in use is current.
    public private(set) var lastReloadError: LocalTwinFileError?

    /// Loads the file; it must exist and be valid.
    public init(path: String, reloadCheckInterval: Duration = .seconds(1)) throws(LocalTwinFileError) {
        self.path = path
        self.reloadCheckInterval = reloadCheckInterval
        let file = try LocalTwinFile.read(path)
        nextCheck = ContinuousClock.now + reloadCheckInterval
        (twinsByID, idsByAccount) = Self.index(file.twins)
        loadedBytes = file.bytes
        loadedSignature = file.signature
    }

    public func twin(id: UInt32) -> Twin? {
        refreshIfDue()
        return twinsByID[id]
    }

    public func twinID(account: AccountID) -> UInt32? {
        refreshIfDue()
        return idsByAccount[account]
    }

    /// All twins, sorted by id.
    public func allTwins() -> [Twin] {
        refreshIfDue()
        return twinsByID.values.sorted { $0.id < $1.id }
    }

    /// Re-reads the file now. Unlike the automatic check this throws, and on failure keeps the
    /// twins already loaded.
    public func reload() throws(LocalTwinFileError) {
        let file = try LocalTwinFile.read(path)
        install(file)
    }

    /// Adds or replaces a twin and writes the file atomically (see ``LocalTwinFile/upsert(_:inFileAt:)``).
    public func upsert(_ twin: Twin) throws(LocalTwinFileError) {
        try LocalTwinFile.upsert(twin, inFileAt: path)
        try reload()
    }

    /// Removes a twin and writes the file atomically. Returns `false` if there was no such twin.
    @discardableResult
    public func remove(id: UInt32) throws(LocalTwinFileError) -> Bool {
        let removed = try LocalTwinFile.remove(id: id, fromFileAt: path)
        try reload()
        return removed
    }

    // MARK: Private

    private func refreshIfDue() {
        let now = ContinuousClock.now
        guard now >= nextCheck else { return }
        nextCheck = now + reloadCheckInterval
        guard let signature = TwinFileIO.signature(of: path) else {
            note(.fileNotFound(path: path))
            return
        }
        // A file modified within the last couple of seconds may change again without its
        // timestamp moving (coarse clocks), so its bytes are compared rather than trusted.
        let recentlyModified = TwinFileIO.wallClockSeconds() - signature.modifiedSeconds <= 2
        guard signature != loadedSignature || recentlyModified else { return }
        do {
            let file = try LocalTwinFile.read(path)
            if file.bytes == loadedBytes {
                loadedSignature = file.signature
                lastReloadError = nil
                return
            }
            install(file)
            logger.info("reloaded twin file", metadata: ["path": "\(path)", "twins": "\(twinsByID.count)"])
        } catch {
            note(error)
        }
    }

    private func note(_ error: LocalTwinFileError) {
        if lastReloadError != error {
            logger.error("twin file not reloaded, keeping the last good version", metadata: ["error": "\(error)"])
        }
        lastReloadError = error
    }

    private func install(_ file: (twins: [Twin], bytes: [UInt8], signature: TwinFileIO.Signature)) {
        (twinsByID, idsByAccount) = Self.index(file.twins)
        loadedBytes = file.bytes
        loadedSignature = file.signature
        lastReloadError = nil
    }

    private static func index(_ twins: [Twin]) -> ([UInt32: Twin], [AccountID: UInt32]) {
        var byID: [UInt32: Twin] = [:]
        var byAccount: [AccountID: UInt32] = [:]
        for twin in twins {
            byID[twin.id] = twin
            byAccount[twin.account] = twin.id
        }
        return (byID, byAccount)
    }
}
