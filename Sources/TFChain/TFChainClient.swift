import Logging
import RMBIdentity
import Substrate
import SubstrateRPC

/// tfchain access for RMB: twin reads (through ``ChainTwinDirectory``), the runtime facts read
/// from live metadata (cached per spec version), and ``updateTwin(signer:relayField:publicKey:finalizationTimeout:)``.
public actor TFChainClient: ChainStorageReading {
    public nonisolated let rpc: SubstrateRPCClient
    let logger: Logger
    private var cachedRuntime: (specVersion: UInt32, runtime: TFChainRuntime)?
    /// Paces the look-ups after a lost transaction watch.
    let clock: any Clock<Duration>

    public init(rpc: SubstrateRPCClient, clock: any Clock<Duration> = ContinuousClock(), logger: Logger = Logger(label: "rmb.tfchain")) {
        self.rpc = rpc
        self.clock = clock
        self.logger = logger
    }

    /// A client for `urls` with the spec's failover (round robin, 12 s per attempt).
    public init(urls: [String], logger: Logger = Logger(label: "rmb.tfchain")) {
        self.init(rpc: SubstrateRPCClient(urls: urls, logger: logger), logger: logger)
    }

    /// Twin reads at the best block; wrap in a cache for repeated lookups.
    public nonisolated var directory: ChainTwinDirectory { ChainTwinDirectory(storage: self) }

    public func storageValue(key: [UInt8], at block: [UInt8]?) async throws -> [UInt8]? {
        do { return try await rpc.storage(key: key, at: block) } catch { throw TFChainError.node(error.description) }
    }

    /// Loads the node's current runtime (``runtime()``), whose check names a changed Twin layout
    /// with the runtime version.
    public func explainUndecodableValue() async throws {
        do { _ = try await runtime() } catch {
            if case .runtimeMismatch(let detail) = error, let specVersion = try? await rpc.runtimeVersion().specVersion {
                throw TFChainError.runtimeMismatch("runtime \(specVersion): \(detail)")
            }
            throw error
        }
    }

    /// The runtime facts for the node's current runtime; metadata is fetched again only when
    /// the spec version changes (a runtime upgrade).
    public func runtime() async throws(TFChainError) -> (version: RuntimeVersion, runtime: TFChainRuntime) {
        let version = try await node { () async throws(RPCError) in try await rpc.runtimeVersion() }
        if let cachedRuntime, cachedRuntime.specVersion == version.specVersion {
            return (version, cachedRuntime.runtime)
        }
        let bytes = try await node { () async throws(RPCError) in try await rpc.metadata() }
        let metadata: RuntimeMetadata
        do { metadata = try RuntimeMetadata(bytes: bytes) } catch { throw .runtimeMismatch("metadata: \(error)") }
        let runtime = try TFChainRuntime(metadata: metadata)
        cachedRuntime = (version.specVersion, runtime)
        logger.debug("tfchain runtime loaded", metadata: ["spec_version": "\(version.specVersion)"])
        return (version, runtime)
    }

    /// The runtime facts last loaded, without asking the node for its version (for per-block
    /// work such as event decoding, which calls ``runtime()`` only when decoding fails).
    public func cachedRuntime() async throws(TFChainError) -> TFChainRuntime {
        if let cachedRuntime { return cachedRuntime.runtime }
        return try await runtime().runtime
    }

    public func close() async {
        await rpc.close()
    }

    /// Runs one RPC, mapping its error to ``TFChainError/node(_:)``.
    func node<T: Sendable>(_ body: () async throws(RPCError) -> T) async throws(TFChainError) -> T {
        do { return try await body() } catch { throw .node(error.description) }
    }
}
