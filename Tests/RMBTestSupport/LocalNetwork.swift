import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A whole RMB network on loopback for end-to-end tests, made of real processes: one
/// `redis-server` (a database per process), N `rmb-relay`s federating over HTTP, and `rmb-peer`s
/// for the public test identities (`Tests/Fixtures/vectors/identities.json`), all described by a
/// fresh twin file. Every child writes stdout and stderr to its own log file in a temp dir.
///
///     let network = try await LocalNetwork.start(relays: 2, peers: [
///         .init(twin: 1, identity: 0, relays: [0]),
///         .init(twin: 2, identity: 1, relays: [1]),
///     ])
///     defer { network.shutdown() }
///     // LPUSH msgbus.system.local on network.peers[0].redisURL …
///
/// Any process can be killed (`kill()`, SIGKILL), stopped (`stop()`, SIGTERM) or restarted;
/// `shutdown()` (also run on deinit) kills everything and removes the directory, unless the
/// environment has `RMB_KEEP_TEST_LOGS=1`. `RMB_TEST_DEBUG=1` starts every child with `-d`.
public final class LocalNetwork: @unchecked Sendable {
    public enum Failure: Error, CustomStringConvertible {
        case executableMissing(String)
        case spawn(String)
        case timeout(String)
        case fixture(String)
        public var description: String {
            switch self {
            case let .executableMissing(path): "executable not found: \(path) (run `swift build --build-tests`)"
            case let .spawn(reason): "could not start a process: \(reason)"
            case let .timeout(reason): "timed out: \(reason)"
            case let .fixture(reason): "bad fixture: \(reason)"
            }
        }
    }

    /// A public test identity (never use these outside tests).
    public struct TestIdentity: Sendable {
        public let name: String
        public let mnemonic: String
        /// sr25519 account, SS58.
        public let account: String
        /// SS58 account of the same mnemonic's ed25519 key.
        public let ed25519Account: String
        /// e2e public key (compressed secp256k1, hex).
        public let e2eKey: String
    }

    /// One peer of the network.
    public struct PeerSpec: Sendable {
        public var twin: UInt32
        /// Index into ``LocalNetwork/identities()``.
        public var identity: Int
        /// Relays (indices) listed on the twin record.
        public var relays: [Int]
        /// Relays given with `--relay` (nil: the peer uses its twin record).
        public var connect: [Int]?
        /// Whether the twin record carries the e2e public key.
        public var e2e: Bool
        public var extraArguments: [String]
        /// The twin file lists the identity's ed25519 account instead of its sr25519 one (a twin
        /// whose envelopes a test signs with ed25519, which is much faster in debug builds).
        public var ed25519 = false

        public init(twin: UInt32, identity: Int, relays: [Int], connect: [Int]? = nil, e2e: Bool = true, extraArguments: [String] = []) {
            self.twin = twin; self.identity = identity; self.relays = relays
            self.connect = connect; self.e2e = e2e; self.extraArguments = extraArguments
        }
    }

    public final class Relay: Sendable {
        public let index: Int
        public let port: Int
        public let redisURL: String
        public let process: ChildProcess
        /// The host it is reached by when it serves TLS itself (``TLS/host``): wss:// and https://.
        public let tlsHost: String?
        public var secure: Bool { tlsHost != nil }
        /// The relay's domain, as listed on twin records (`127.0.0.1:<port>`, or `<TLS host>:<port>`).
        public var domain: String { tlsHost.map { "\($0):\(port)" } ?? "127.0.0.1:\(port)" }
        public var url: String { tlsHost.map { "https://\($0):\(port)" } ?? "http://127.0.0.1:\(port)" }

        init(index: Int, port: Int, redisURL: String, process: ChildProcess, tlsHost: String? = nil) {
            self.index = index; self.port = port; self.redisURL = redisURL; self.process = process; self.tlsHost = tlsHost
        }
    }

    /// Relays that serve TLS themselves with a test certificate (for `localhost`), and peers and
    /// relays that trust its CA through `--ca-file`.
    public struct TLS: Sendable {
        public var certificatePath: String
        public var privateKeyPath: String
        public var caPath: String
        /// How twin records, peers and relays name the relays: a DNS name, or an IP address
        /// (the certificate must list it).
        public var host: String
        public init(certificatePath: String, privateKeyPath: String, caPath: String, host: String = "localhost") {
            self.certificatePath = certificatePath; self.privateKeyPath = privateKeyPath; self.caPath = caPath; self.host = host
        }
    }

    public final class Peer: Sendable {
        public let spec: PeerSpec
        public let identity: TestIdentity
        /// The local Redis of this peer (its own database on the shared server).
        public let redisURL: String
        public let store: URL
        public let process: ChildProcess
        public var twin: UInt32 { spec.twin }
        /// How many relays the peer connects to.
        public let relayCount: Int

        init(spec: PeerSpec, identity: TestIdentity, redisURL: String, store: URL, process: ChildProcess, relayCount: Int) {
            self.spec = spec; self.identity = identity; self.redisURL = redisURL
            self.store = store; self.process = process; self.relayCount = relayCount
        }

        /// Waits until the peer logged "relay connected" once per relay since its last start.
        public func waitUntilConnected(timeout: Duration = .seconds(30)) async throws {
            try await process.waitForLog("relay connected", count: relayCount, timeout: timeout)
        }

        /// The port of the peer's metrics endpoint since its last start, from the log line that
        /// names it: start the peer with ``metricsOnAnyPort`` and the kernel picks a free port
        /// (a port picked by the test beforehand can be taken by another test meanwhile).
        public func metricsPort(timeout: Duration = .seconds(30)) async throws -> Int {
            let marker = "metrics endpoint listening"
            try await process.waitForLog(marker, timeout: timeout)
            for line in process.log().split(separator: "\n") where line.contains(marker) {
                guard let end = line.range(of: "/metrics") else { continue }
                let digits = line[..<end.lowerBound].reversed().prefix { $0.isNumber }
                if let port = Int(String(digits.reversed())), port > 0 { return port }
            }
            throw Failure.timeout("\(process.name) logged no metrics port")
        }

        /// `--metrics` on loopback, any free port (``metricsPort(timeout:)`` reads which).
        public static let metricsOnAnyPort = ["--metrics", "127.0.0.1:0"]
    }

    public let redis: RedisServer
    public let directory: URL
    public let twinsFile: URL
    public let relays: [Relay]
    public let peers: [Peer]
    private let lock = NSLock()
    private var isShutDown = false

    private init(redis: RedisServer, directory: URL, twinsFile: URL, relays: [Relay], peers: [Peer]) {
        self.redis = redis; self.directory = directory; self.twinsFile = twinsFile
        self.relays = relays; self.peers = peers
    }

    deinit { shutdown() }

    /// Directory of the built executables: next to the test runner (`.build/<config>/`), or
    /// `RMB_BIN_DIR`.
    public static var binDirectory: URL {
        if let given = ProcessInfo.processInfo.environment["RMB_BIN_DIR"] { return URL(fileURLWithPath: given) }
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        while dir.pathExtension == "xctest" || dir.lastPathComponent == "Contents" || dir.lastPathComponent == "MacOS" {
            dir.deleteLastPathComponent()
        }
        return dir
    }

    /// The public identities of the fixtures: dev, alpha, beta.
    public static func identities() throws -> [TestIdentity] {
        let root = try Fixtures.json("vectors/identities.json")
        guard let list = root["identities"] as? [[String: Any]] else { throw Failure.fixture("identities.json: no identities") }
        return try list.map { entry in
            guard let name = entry["name"] as? String, let secret = entry["secret"] as? String,
                  let sr = entry["sr25519"] as? [String: Any], let ss58 = sr["ss58"] as? String,
                  let ed = entry["ed25519"] as? [String: Any], let edSS58 = ed["ss58"] as? String,
                  let secp = entry["secp256k1"] as? [String: Any], let pk = secp["public_key_compressed"] as? String
            else { throw Failure.fixture("identities.json: incomplete entry") }
            return TestIdentity(name: name, mnemonic: secret, account: ss58, ed25519Account: edSS58, e2eKey: pk)
        }
    }

    /// Starts Redis, the relays and the peers, and waits until every relay answers TCP and
    /// every peer is connected to all its relays. `directTwins` are written to the twin file
    /// with no process of their own (twins a test runs in process, e.g. direct peers).
    public static func start(relays relayCount: Int, peers specs: [PeerSpec], directTwins: [PeerSpec] = [], tls: TLS? = nil,
                             timeout: Duration = .seconds(60)) async throws -> LocalNetwork {
        let bin = binDirectory
        for name in ["rmb-relay", "rmb-peer"] {
            let path = bin.appendingPathComponent(name).path
            guard FileManager.default.isExecutableFile(atPath: path) else { throw Failure.executableMissing(path) }
        }
        let identities = try identities()
        let debugLogs = ProcessInfo.processInfo.environment["RMB_TEST_DEBUG"] == "1"
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rmb-net-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let redis = try RedisServer.start()

        var ports: [Int] = []
        while ports.count < relayCount {
            let port = try freeLoopbackPort()
            if !ports.contains(port) { ports.append(port) }
        }

        // The twin file.
        let twinsFile = directory.appendingPathComponent("twins.toml")
        var toml = "# generated by LocalNetwork\n"
        for spec in specs + directTwins {
            guard spec.identity < identities.count else { throw Failure.fixture("no identity #\(spec.identity)") }
            let identity = identities[spec.identity]
            toml += "\n[[twin]]\nid = \(spec.twin)\naccount = \"\(spec.ed25519 ? identity.ed25519Account : identity.account)\"\n"
            if spec.e2e { toml += "pk = \"\(identity.e2eKey)\"\n" }
            let entry = { (port: Int) in tls.map { "\($0.host):\(port)" } ?? "http://127.0.0.1:\(port)" }
            toml += "relays = [ " + spec.relays.map { "\"\(entry(ports[$0]))\"" }.joined(separator: ", ") + " ]\n"
        }
        try toml.write(to: twinsFile, atomically: true, encoding: .utf8)

        var relays: [Relay] = []
        for (index, port) in ports.enumerated() {
            let url = "\(redis.url)/\(index)"
            let process = ChildProcess(
                name: "relay\(index)",
                arguments: [bin.appendingPathComponent("rmb-relay").path, "--domain", tls.map { "\($0.host):\(port)" } ?? "127.0.0.1:\(port)",
                            "--listen", "127.0.0.1:\(port)", "--redis", url, "--twins", twinsFile.path]
                            + (tls.map { ["--tls-cert", $0.certificatePath, "--tls-key", $0.privateKeyPath, "--ca-file", $0.caPath] } ?? [])
                            + (debugLogs ? ["-d"] : []),
                logFile: directory.appendingPathComponent("relay\(index).log"))
            relays.append(Relay(index: index, port: port, redisURL: url, process: process, tlsHost: tls?.host))
        }

        var peers: [Peer] = []
        for (offset, spec) in specs.enumerated() {
            let database = relayCount + offset
            let url = "\(redis.url)/\(database)"
            let store = directory.appendingPathComponent("store-twin\(spec.twin)")
            var arguments = [bin.appendingPathComponent("rmb-peer").path, "--twins", twinsFile.path,
                             "--redis", url, "--store", store.path]
            for index in spec.connect ?? [] { arguments += ["--relay", tls.map { "\($0.host):\(ports[index])" } ?? "http://127.0.0.1:\(ports[index])"] }
            if let tls { arguments += ["--ca-file", tls.caPath] }
            arguments += spec.extraArguments
            if debugLogs { arguments.append("-d") }
            let process = ChildProcess(name: "peer-twin\(spec.twin)", arguments: arguments,
                                       environment: ["RMB_MNEMONIC": identities[spec.identity].mnemonic],
                                       logFile: directory.appendingPathComponent("peer-twin\(spec.twin).log"))
            peers.append(Peer(spec: spec, identity: identities[spec.identity], redisURL: url, store: store,
                              process: process, relayCount: (spec.connect ?? spec.relays).count))
        }

        let network = LocalNetwork(redis: redis, directory: directory, twinsFile: twinsFile, relays: relays, peers: peers)
        do {
            for relay in relays { try relay.process.start() }
            for relay in relays { try await network.waitUntilListening(relay, timeout: timeout) }
            for peer in peers { try peer.process.start() }
            for peer in peers { try await peer.waitUntilConnected(timeout: timeout) }
        } catch {
            let report = network.diagnostics()
            network.shutdown()
            throw Failure.spawn("\(error)\n\(report)")
        }
        return network
    }

    /// Waits until the relay accepts TCP connections (after a start or restart).
    public func waitUntilListening(_ relay: Relay, timeout: Duration = .seconds(30)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if tcpAnswers(port: relay.port) { return }
            if !relay.process.isRunning { throw Failure.spawn("\(relay.process.name) exited: \(relay.process.logTail())") }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw Failure.timeout("\(relay.process.name) does not listen on \(relay.port)")
    }

    /// Restarts a relay (SIGKILL if running) and waits until it listens again.
    public func restart(_ relay: Relay) async throws {
        try await relay.process.restart()
        try await waitUntilListening(relay)
    }

    /// Restarts a peer (SIGKILL if running) with the same store and Redis, and waits until it
    /// is connected again.
    public func restart(_ peer: Peer, timeout: Duration = .seconds(30)) async throws {
        try await peer.process.restart()
        try await peer.waitUntilConnected(timeout: timeout)
    }

    /// The last lines of every log, for failure messages.
    public func diagnostics(lines: Int = 15) -> String {
        (relays.map(\.process) + peers.map(\.process)).map { process in
            // A process that died gets its whole crash report (a backtrace runs to ~100 lines).
            "--- \(process.name) (\(process.isRunning ? "running" : "not running")) \(process.logFile.path)\n\(process.logTail(lines: process.isRunning ? lines : max(lines, 200)))"
        }.joined(separator: "\n")
    }

    /// Kills every child and Redis; removes the directory (unless `RMB_KEEP_TEST_LOGS=1`).
    public func shutdown() {
        let first = lock.withLock { () -> Bool in
            defer { isShutDown = true }
            return !isShutDown
        }
        guard first else { return }
        for peer in peers { peer.process.kill() }
        for relay in relays { relay.process.kill() }
        redis.kill()
        if ProcessInfo.processInfo.environment["RMB_KEEP_TEST_LOGS"] == "1" {
            FileHandle.standardError.write(Data("LocalNetwork: logs kept in \(directory.path)\n".utf8))
        } else {
            try? FileManager.default.removeItem(at: directory)
        }
    }
}

/// A child process with its output in a log file, started with a clean signal state (the
/// static spawn/wait helpers, and why not Foundation's `Process`: ChildProcess.swift).
public final class ChildProcess: @unchecked Sendable {
    public let name: String
    /// `arguments[0]` is the executable path.
    public let arguments: [String]
    public let environment: [String: String]
    public let logFile: URL
    private let lock = NSLock()
    private var pid: pid_t = 0
    /// Size of the log when the process was last started: log reads begin there.
    private var startOffset = 0
    private var lastStatus: Int32?

    public init(name: String, arguments: [String], environment: [String: String] = [:], logFile: URL) {
        self.name = name; self.arguments = arguments; self.environment = environment; self.logFile = logFile
    }

    deinit { kill() }

    public var processID: pid_t { lock.withLock { pid } }

    /// Starts the process if it is not running; output is appended to the log file.
    public func start() throws {
        if isRunning { return }
        let offset = (try? FileManager.default.attributesOfItem(atPath: logFile.path)[.size] as? Int) ?? 0
        let child: pid_t
        do {
            child = try ProcessControl.spawn(arguments, environment: environment, stdout: .file(logFile.path, append: true), stderr: .stdout)
        } catch {
            throw LocalNetwork.Failure.spawn("\(error)")
        }
        lock.withLock {
            pid = child
            startOffset = offset
            lastStatus = nil
        }
    }

    public var isRunning: Bool {
        lock.withLock {
            guard pid > 0 else { return false }
            switch ProcessControl.state(of: pid) {
            case .running: return true
            case let .exited(status): lastStatus = status
            case .reapedElsewhere: break
            }
            pid = 0
            return false
        }
    }

    /// SIGKILL and reap: a crash. Safe to call when not running.
    public func kill() {
        lock.withLock {
            guard pid > 0 else { return }
            ProcessControl.send(SIGKILL, to: pid)
            if let status = ProcessControl.waitForExit(pid) { lastStatus = status }
            pid = 0
        }
    }

    /// The wait status of a process that ended by itself (``exitCode(of:)``), waiting up to
    /// `timeout` for the end; nil if it still runs then (it is left running).
    public func exitStatus(within timeout: Duration) async -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while isRunning {
            guard ContinuousClock.now < deadline else { return nil }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return lock.withLock { lastStatus }
    }

    /// Sends a signal without waiting.
    public func signal(_ number: Int32) {
        lock.withLock { if pid > 0 { ProcessControl.send(number, to: pid) } }
    }

    /// SIGTERM, then waits up to `timeout` for the exit (SIGKILL after that). Returns the raw
    /// wait status (`exitCode(of:)`), nil if the process had to be killed or was not running.
    @discardableResult
    public func stop(timeout: Duration = .seconds(10)) async -> Int32? {
        guard isRunning else { return nil }
        signal(SIGTERM)
        if let status = await exitStatus(within: timeout) { return status }
        kill()
        return nil
    }

    /// The exit code of a wait status, nil when the process died of a signal.
    public static func exitCode(of status: Int32) -> Int32? {
        (status & 0x7f) == 0 ? (status >> 8) & 0xff : nil
    }

    /// SIGKILL if running, then start again with the same arguments.
    public func restart() async throws {
        kill()
        try start()
    }

    /// The log since the last start (or all of it).
    public func log(sinceStart: Bool = true) -> String {
        guard let data = try? Data(contentsOf: logFile) else { return "" }
        let offset = sinceStart ? lock.withLock { startOffset } : 0
        return String(decoding: data.dropFirst(min(offset, data.count)), as: UTF8.self)
    }

    public func logTail(lines: Int = 15) -> String {
        log(sinceStart: false).split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }

    /// Number of log lines since the last start that contain `text`.
    public func count(_ text: String) -> Int {
        log().split(separator: "\n").filter { $0.contains(text) }.count
    }

    /// Polls the log (since the last start) until `text` appears `count` times.
    public func waitForLog(_ text: String, count: Int = 1, timeout: Duration = .seconds(30)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if self.count(text) >= count { return }
            if !isRunning { throw LocalNetwork.Failure.spawn("\(name) exited while waiting for '\(text)': \(logTail())") }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw LocalNetwork.Failure.timeout("\(name): '\(text)' ×\(count) not logged within \(timeout): \(logTail())")
    }
}

/// True when something accepts TCP connections on the loopback port.
public func tcpAnswers(port: Int) -> Bool {
    #if canImport(Glibc)
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    #else
    let fd = socket(AF_INET, SOCK_STREAM, 0)
    #endif
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = UInt16(port).bigEndian
    address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    return connected == 0
}
