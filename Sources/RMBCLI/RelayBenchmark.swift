import ArgumentParser
import Foundation

/// `rmb bench relay`: figures of an `rmb-relay` process on this machine. The bench starts
/// what it needs: a throwaway `redis-server` (unless `--redis` names one), and a fresh relay
/// per mode (so every mode's CPU and memory figures are its own), on free loopback ports with
/// a generated twin file. Build both with `-c release` first.
struct RelayBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "relay",
        abstract: "Envelopes/s, latency percentiles, offline drain rate and idle-session memory of rmb-relay.",
        discussion: """
            Modes (--modes, run in the order given):
              throughput  N sender→receiver session pairs, closed loop with --window envelopes in flight per pair
              rate        the same at a fixed total --rate, latency percentiles
              offline     receivers offline (envelopes queue in Redis streams), then they connect: drain rate
              idle        --idle authenticated idle sessions, relay RSS (VmRSS) before and after
            Example: swift build -c release --product rmb && swift build -c release --product rmb-relay
                     .build/release/rmb bench relay --relay-binary .build/release/rmb-relay
            """)

    @Option(help: "The rmb-relay executable (default: rmb-relay next to this rmb).") var relayBinary: String?
    @Option(help: "Redis URL to use (default: start a throwaway redis-server on a free port).") var redis: String?
    @Option(help: "Extra flags for the relay, space-separated, e.g. \"--max-connections-per-address 100000\" (all bench sessions come from 127.0.0.1).")
    var relayFlags: String = ""
    @Option(help: "redis-server executable, when the bench starts one.") var redisServer: String = "redis-server"
    @Option(help: "Comma-separated modes: throughput, rate, offline, idle.") var modes: String = "throughput,rate,offline,idle"
    @Option(help: "Sender→receiver session pairs.") var pairs: Int = 8
    @Option(help: "Envelopes in flight per pair (throughput mode).") var window: Int = 64
    @Option(help: "Total envelopes/s (rate mode).") var rate: Int = 10_000
    @Option(help: "Payload bytes per envelope.") var size: Int = 256
    @Option(help: "Seconds of warm-up before measuring.") var warmup: Int = 1
    @Option(help: "Seconds measured (throughput and rate modes).") var seconds: Int = 5
    @Option(help: "Envelopes queued per offline receiver (streams keep about 10000).") var offline: Int = 5_000
    @Option(help: "Idle sessions (idle mode).") var idle: Int = 10_000
    @Option(help: "Seconds the idle sessions are held open while the relay's RSS is sampled.") var idleHold: Int = 25
    @Flag(help: "Keep the relay and Redis logs (their directory is printed).") var keepLogs = false

    enum Mode: String, CaseIterable { case throughput, rate, offline, idle }

    func validate() throws {
        guard pairs > 0, window > 0, rate > 0, size >= 0, warmup >= 0, seconds > 0, idle > 0 else {
            throw ValidationError("--pairs, --window, --rate, --seconds and --idle must be positive")
        }
        guard (1...9_000).contains(offline) else { throw ValidationError("--offline must be 1…9000 (a stream keeps about 10000 entries)") }
        for name in modes.split(separator: ",") where Mode(rawValue: name.trimmingCharacters(in: .whitespaces)) == nil {
            throw ValidationError("unknown mode '\(name)' (throughput, rate, offline, idle)")
        }
    }

    func run() async throws {
        do { try await bench() } catch let error as ExitCode { throw error } catch {
            printError(String(describing: error))
            throw ExitCode(1)
        }
    }

    private func bench() async throws {
        let selected = modes.split(separator: ",").compactMap { Mode(rawValue: $0.trimmingCharacters(in: .whitespaces)) }
        let fileLimit = raiseBenchFileLimit()
        if selected.contains(.idle), idle + 64 > fileLimit {
            throw InputError("--idle \(idle) needs more descriptors than this process may open (\(fileLimit)); raise `ulimit -n`")
        }
        let binary = relayBinary ?? Self.siblingRelay()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rmb-bench-relay-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer {
            if keepLogs { print("logs kept in \(directory)") } else { try? FileManager.default.removeItem(atPath: directory) }
        }
        var redisChild: BenchChild?
        defer { redisChild?.stop() }
        let redisURL: String
        if let redis {
            redisURL = redis
        } else {
            let port = try LoopbackTCP.freePort()
            let child = try BenchChild(name: "redis-server", arguments: [try Self.locate(redisServer), "--port", "\(port)", "--bind", "127.0.0.1",
                                                                          "--save", "", "--appendonly", "no"],
                                       logPath: directory + "/redis.log")
            redisChild = child
            guard LoopbackTCP.waitListening(port: port, timeout: .seconds(10), alive: { child.isRunning }) else {
                throw InputError("redis-server did not start: \(child.logTail())")
            }
            redisURL = "redis://127.0.0.1:\(port)"
        }
        let fixture = try RelayBenchFixture()
        print("rmb bench relay: \(binary), redis \(redisURL)\(redis == nil ? " (started by the bench)" : ""), \(ProcessInfo.processInfo.activeProcessorCount) CPUs")
        print("\(pairs) session pairs, \(size)-byte payloads (signed requests), each mode on a fresh relay")
        for mode in selected {
            let relay = try RelayUnderTest(binary: binary, flags: relayFlags.split(separator: " ").map(String.init), redisURL: redisURL,
                                           fixture: fixture, directory: directory, label: mode.rawValue)
            defer { relay.stop() }
            switch mode {
            case .throughput: try await runThroughput(relay, fixture: fixture)
            case .rate: try await runRate(relay, fixture: fixture)
            case .offline: try await runOffline(relay, fixture: fixture)
            case .idle: try await runIdle(relay, fixture: fixture)
            }
        }
    }

    private func traffic(_ relay: RelayUnderTest, _ fixture: RelayBenchFixture) -> RelayTraffic {
        RelayTraffic(url: relay.url, fixture: fixture, pairs: pairs, payloadSize: size)
    }

    private func runThroughput(_ relay: RelayUnderTest, fixture: RelayBenchFixture) async throws {
        let usage = CPUUsage(relay: relay.child.pid)
        let outcome = try await traffic(relay, fixture).run(window: window, rate: nil, warmup: .seconds(warmup), measure: .seconds(seconds))
        let latency = BenchSamples(nanoseconds: outcome.latencies)
        print(String(format: "throughput  %9.0f envelopes/s  (closed loop, %d in flight per pair, %.0f s)", outcome.rate, window, outcome.seconds))
        print("            latency ms    " + latency.latencyLine(format: "%.3f", maximum: false))
        print("            " + usage.report(envelopes: outcome.sent))
    }

    private func runRate(_ relay: RelayUnderTest, fixture: RelayBenchFixture) async throws {
        let usage = CPUUsage(relay: relay.child.pid)
        let outcome = try await traffic(relay, fixture).run(window: window, rate: Double(rate), warmup: .seconds(warmup), measure: .seconds(seconds))
        let latency = BenchSamples(nanoseconds: outcome.latencies)
        let skipped = outcome.skipped > 0 ? ", \(outcome.skipped) sends skipped: window full" : ""
        print(String(format: "rate        %9.0f envelopes/s  (fixed rate %d/s over %d pairs%@)", outcome.rate, rate, pairs, skipped))
        print("            latency ms    " + latency.latencyLine(format: "%.3f", maximum: false))
        print("            " + usage.report(envelopes: outcome.sent))
    }

    private func runOffline(_ relay: RelayUnderTest, fixture: RelayBenchFixture) async throws {
        let usage = CPUUsage(relay: relay.child.pid)
        let outcome = try await traffic(relay, fixture).runOffline(perPair: offline)
        let enqueueRate = Double(outcome.envelopes) / max(outcome.enqueueSeconds, 1e-9)
        let drainRate = Double(outcome.envelopes) / max(outcome.drainSeconds, 1e-9)
        print(String(format: "offline     %9.0f envelopes/s  queued into Redis streams (%d envelopes, receivers offline)", enqueueRate, outcome.envelopes))
        print(String(format: "            %9.0f envelopes/s  drained after %d receivers connected (%.2f s)", drainRate, pairs, outcome.drainSeconds))
        print("            " + usage.report(envelopes: 2 * outcome.envelopes, unit: "envelope in+out"))
    }

    private func runIdle(_ relay: RelayUnderTest, fixture: RelayBenchFixture) async throws {
        let tokens = try (0..<idle).map { try fixture.idleToken($0) }
        try await Task.sleep(for: .milliseconds(500))
        let before = ProcessProbe.residentBytes(pid: relay.child.pid) ?? 0
        var sessions = IdleSessions()
        defer { sessions.closeAll() }
        let start = benchNanos()
        try sessions.open(tokens: tokens, port: relay.port)
        let openSeconds = Double(benchNanos() - start) / 1e9
        // Hold the sessions a while (the relay's periodic presence and stream sweeps run) and
        // report the highest RSS seen as well as the one at the end.
        var after = 0, peak = 0
        for _ in 0..<max(2, idleHold) {
            try await Task.sleep(for: .seconds(1))
            after = ProcessProbe.residentBytes(pid: relay.child.pid) ?? 0
            peak = max(peak, after)
        }
        let mib = { (bytes: Int) in Double(bytes) / 1_048_576 }
        print(String(format: "idle        %9d sessions open  (authenticated, %.0f upgrades/s)", sessions.descriptors.count, Double(idle) / max(openSeconds, 1e-9)))
        print(String(format: "            relay RSS %.1f MiB → %.1f MiB after %d s, peak %.1f MiB  (%.1f KiB per session)",
                     mib(before), mib(after), max(2, idleHold), mib(peak), Double(after - before) / 1024 / Double(max(1, idle))))
    }

    /// `rmb-relay` in the directory of the running `rmb`.
    static func siblingRelay() -> String {
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        return executable.deletingLastPathComponent().appendingPathComponent("rmb-relay").path
    }

    /// A path as given, or the first match in PATH.
    static func locate(_ name: String) throws(InputError) -> String {
        if name.contains("/") { return name }
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw InputError("\(name) not found in PATH (give --redis URL or --redis-server PATH)")
    }
}

/// One `rmb-relay` child on a free loopback port, serving the fixture's twins (`--twins`).
struct RelayUnderTest {
    let child: BenchChild
    let port: Int
    var url: String { "ws://127.0.0.1:\(port)/" }

    init(binary: String, flags: [String] = [], redisURL: String, fixture: RelayBenchFixture, directory: String, label: String) throws {
        port = try LoopbackTCP.freePort()
        let twins = directory + "/twins-\(label).toml"
        try fixture.twinFile(relay: "http://127.0.0.1:\(port)").write(toFile: twins, atomically: true, encoding: .utf8)
        let child = try BenchChild(name: "rmb-relay", arguments: [
            binary, "--twins", twins, "--listen", "127.0.0.1:\(port)", "--domain", "127.0.0.1:\(port)", "--redis", redisURL,
        ] + flags, logPath: directory + "/relay-\(label).log")
        guard LoopbackTCP.waitListening(port: port, timeout: .seconds(20), alive: { child.isRunning }) else {
            child.stop()
            throw InputError("rmb-relay did not start listening: \(child.logTail())")
        }
        self.child = child
    }

    func stop() { child.stop() }
}

/// CPU seconds used by the relay and by the bench itself since creation.
struct CPUUsage {
    let relay: pid_t
    let relayStart: Double
    let benchStart: Double
    let wallStart = benchNanos()

    init(relay: pid_t) {
        self.relay = relay
        relayStart = ProcessProbe.cpuSeconds(pid: relay) ?? 0
        benchStart = ProcessProbe.cpuSeconds(pid: getpid()) ?? 0
    }

    func report(envelopes: Int, unit: String = "envelope") -> String {
        let wall = Double(benchNanos() - wallStart) / 1e9
        let relayCPU = (ProcessProbe.cpuSeconds(pid: relay) ?? 0) - relayStart
        let benchCPU = (ProcessProbe.cpuSeconds(pid: getpid()) ?? 0) - benchStart
        return String(format: "relay CPU %.1f µs/%@ (%.2f cores), bench client %.2f cores",
                      relayCPU * 1e6 / Double(max(1, envelopes)), unit, relayCPU / wall, benchCPU / wall)
    }
}
