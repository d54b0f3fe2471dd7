import ArgumentParser
import Foundation
import RMBClient
import RedisClient

/// `rmb bench peer`: requests through a running network (client → peer → relay → peer → echo
/// service → back), measured from a client's point of view: LPUSH to the requesting peer's
/// `msgbus.system.local`, replies from a `ret` list. `scripts/bench-peer.sh` starts the network
/// and runs every mode; the bench itself only drives traffic and kills what it is told to.
struct PeerBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "peer",
        abstract: "Requests/s, latency percentiles and relay failover time through a running rmb-peer network.",
        discussion: """
            Modes (--modes, run in the order given):
              closed    closed loop, --window requests in flight: requests/s and latency
              rate      each of --rates requests/s for --duration s: latency p50/p99/p99.9 (from each request's due time)
              client    closed + rates again, each request a call of the RMBClient library (what a Swift app uses)
              direct    closed + rates again, each request a call of an RMBDirectPeer in this process (no rmb-peer, no
                        Redis: its own relay sessions) for twin --direct-twin of --direct-twins to --direct-destination
                        (a direct peer too: `rmb service direct-echo`); mnemonic in RMB_DIRECT_MNEMONIC
              paired    --rounds rounds, each a closed loop through rmb-peer, then one through the direct peer (direct
                        options as above), then the first of --rates through each: per round both figures and the
                        ratio; at the end the median and range of the ratios and of the p99s (runs minutes apart
                        on a noisy machine differ more than the two paths do)
              baseline  closed + rates again, straight through the echo service on --baseline-redis (no RMB)
              failover  --failover-rate requests/s; SIGKILL --kill-pid (a relay the peer uses) a third into the run:
                        time to the first reply of a request sent after the kill, pause, requests stranded
              freeze    each of --freeze-rates requests/s; SIGSTOP --freeze-pid (a relay the peer uses) a quarter into
                        the run for --freeze-for s: latency of the requests sent while it is frozen, count over 1 s
            Everything is started by scripts/bench-peer.sh (release build, one command).
            """)

    @Option(help: "Redis of the requesting peer.") var redis: String = "redis://localhost:6379"
    @Option(help: "Destination twin id.") var destination: UInt32
    @Option(help: "Command served at the destination (and by the baseline echo service).") var command: String = "echo"
    @Option(help: "Comma-separated modes: closed, rate, client, direct, paired, baseline, failover, freeze.") var modes: String = "closed,rate"
    @Option(help: "Requests in flight (closed loop).") var window: Int = 256
    @Option(help: "Comma-separated fixed rates, requests/s.") var rates: String = "500,1000,2000"
    @Option(help: "Seconds measured per run.") var duration: Int = 10
    @Option(help: "Seconds of warm-up before each run is measured.") var warmup: Int = 2
    @Option(help: "Payload size in bytes.") var size: Int = 300
    @Option(help: "Request ttl (exp) in seconds.") var ttl: UInt64 = 60
    @Option(help: "Redis database served by an echo service and no peer (baseline mode).") var baselineRedis: String?
    @Option(help: "Process to SIGKILL in failover mode (a relay the requesting peer uses).") var killPid: Int32?
    @Option(help: "Requests/s during the failover run.") var failoverRate: Int = 1000
    @Option(help: "Request ttl during the failover run (a request stranded in the killed relay is re-sent at half of it, ≥ 10 s).")
    var failoverTtl: UInt64 = 20
    @Option(help: "Processes whose CPU use is reported per run, as name=pid,name=pid.") var watch: String = ""
    @Option(help: "Append every measured request to this file: run label, due time (ms into the run), latency (ms; '-' unanswered), tab-separated.")
    var latencyLog: String?

    @Option(help: "Process to freeze in freeze mode (SIGSTOP, SIGCONT --freeze-for seconds later): a relay the requesting peer uses.")
    var freezePid: Int32?
    @Option(help: "Seconds the frozen process stays stopped in freeze mode.") var freezeFor: Int = 5
    @Option(help: "Requests/s of the freeze runs, comma-separated (one run each).") var freezeRates: String = "200,1000"

    @Option(help: "Twin file of the direct mode's twins.") var directTwins: String?
    @Option(help: "Destination twin of the direct mode (a direct peer serving --command).") var directDestination: UInt32?
    @Option(help: "Store directory of the direct mode's caller (default: none).") var directStore: String?
    @Option(help: "Rounds of the paired mode.") var rounds: Int = 5

    enum Mode: String, CaseIterable { case closed, rate, client, direct, paired, baseline, failover, freeze }

    func validate() throws {
        guard window > 0, duration > 0, warmup >= 0, size >= 0, ttl > 0, failoverRate > 0, failoverTtl > 0 else {
            throw ValidationError("--window, --duration, --ttl and --failover-rate must be positive")
        }
        guard !parsedRates.isEmpty, parsedRates.allSatisfy({ $0 > 0 }) else { throw ValidationError("--rates: comma-separated positive numbers") }
        for name in modes.split(separator: ",") where Mode(rawValue: name.trimmingCharacters(in: .whitespaces)) == nil {
            throw ValidationError("unknown mode '\(name)' (closed, rate, client, direct, paired, baseline, failover, freeze)")
        }
        guard rounds > 0 else { throw ValidationError("--rounds must be positive") }
        if selectedModes.contains(.direct) || selectedModes.contains(.paired) {
            guard directTwins != nil, directDestination != nil, ProcessInfo.processInfo.environment["RMB_DIRECT_MNEMONIC"] != nil else {
                throw ValidationError("direct and paired modes need --direct-twins, --direct-destination and RMB_DIRECT_MNEMONIC")
            }
        }
        if selectedModes.contains(.baseline), baselineRedis == nil { throw ValidationError("baseline mode needs --baseline-redis") }
        if selectedModes.contains(.failover), killPid == nil { throw ValidationError("failover mode needs --kill-pid") }
        if selectedModes.contains(.freeze) {
            guard freezePid != nil else { throw ValidationError("freeze mode needs --freeze-pid") }
            guard freezeFor > 0, Duration.seconds(freezeFor) < .seconds(duration) * 3 / 4 else {
                throw ValidationError("--freeze-for must be > 0 and end before the measured period (--duration) does")
            }
            guard !parsedFreezeRates.isEmpty, parsedFreezeRates.allSatisfy({ $0 > 0 }) else {
                throw ValidationError("--freeze-rates: comma-separated positive numbers")
            }
        }
        guard watched != nil else { throw ValidationError("--watch: name=pid,name=pid") }
    }

    private var selectedModes: [Mode] { modes.split(separator: ",").compactMap { Mode(rawValue: $0.trimmingCharacters(in: .whitespaces)) } }
    private var parsedFreezeRates: [Int] { freezeRates.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } }
    var parsedRates: [Int] { rates.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } }
    private var watched: [(String, Int32)]? {
        var result: [(String, Int32)] = []
        for item in watch.split(separator: ",") {
            let parts = item.split(separator: "=")
            guard parts.count == 2, let pid = Int32(parts[1]) else { return nil }
            result.append((String(parts[0]), pid))
        }
        return result
    }

    func run() async throws {
        do { try await bench() } catch let error as ExitCode { throw error } catch {
            printError(String(describing: error))
            throw ExitCode(1)
        }
    }

    private func bench() async throws {
        let peerRedis = try RedisClient(url: redis, poolSize: 2)
        defer { peerRedis.close() }
        let payload = [UInt8](repeating: 0x61, count: size)
        let replyQueue = "bench.reply." + UUID().uuidString.prefix(8).lowercased()
        let viaPeer = PeerBenchRoute.peer(destination: destination, command: command, payload: payload, ttl: ttl, replyQueue: replyQueue)
        print("rmb bench peer: twin \(destination) '\(command)' via \(redis), \(size)-byte payloads, ttl \(ttl) s, "
              + "\(ProcessInfo.processInfo.activeProcessorCount) CPUs; \(warmup) s warm-up + \(duration) s per run")
        print(PeerBenchReport.header)
        var closedRMB: PeerBenchFigures?
        var closedRedis: PeerBenchFigures?
        var closedClient: PeerBenchFigures?
        var closedDirect: PeerBenchFigures?
        for mode in selectedModes {
            switch mode {
            case .closed:
                closedRMB = try await measure("rmb closed loop (\(window) in flight)", peerRedis, viaPeer, .closed(window: window))
            case .rate:
                for rate in parsedRates { _ = try await measure("rmb \(rate)/s", peerRedis, viaPeer, .fixed(perSecond: Double(rate))) }
            case .client:
                let client = try RMBClient(redisURL: redis)
                defer { client.close() }
                closedClient = try await measureClient("client closed loop (\(window) in flight)", client, to: destination, payload, .closed(window: window))
                for rate in parsedRates {
                    _ = try await measureClient("client \(rate)/s", client, to: destination, payload, .fixed(perSecond: Double(rate)))
                }
            case .direct:
                closedDirect = try await benchDirect(payload)
            case .paired:
                try await benchPaired(peerRedis, viaPeer, payload)
            case .baseline:
                let baseline = try RedisClient(url: baselineRedis ?? redis, poolSize: 2)
                defer { baseline.close() }
                let direct = PeerBenchRoute.bareRedis(command: command, payload: payload, ttl: ttl)
                closedRedis = try await measure("redis closed loop (\(window) in flight)", baseline, direct, .closed(window: window))
                for rate in parsedRates { _ = try await measure("redis \(rate)/s", baseline, direct, .fixed(perSecond: Double(rate))) }
            case .failover:
                try await failover(peerRedis, payload: payload, replyQueue: replyQueue)
            case .freeze:
                for rate in parsedFreezeRates { try await freeze(peerRedis, rate: rate, payload: payload, replyQueue: replyQueue) }
            }
        }
        if let closedRMB, let closedClient {
            print("RMBClient / hand-written load (closed loop): " + PeerBenchFigures.compare(closedClient, closedRMB, cpu: .added))
        }
        if let closedRMB, let closedDirect {
            print("direct peer / rmb-peer path (closed loop): " + PeerBenchFigures.compare(closedDirect, closedRMB, cpu: .inverseRatio))
        }
        if let closedRMB, let closedRedis {
            print("rmb / bare redis (closed loop): " + PeerBenchFigures.compare(closedRMB, closedRedis, cpu: nil))
        }
    }

    /// One run; prints its line (and CPU use of the watched processes); returns requests/s and CPU per request.
    func measure(_ label: String, _ client: RedisClient, _ route: PeerBenchRoute, _ pacing: PeerBenchPacing) async throws -> PeerBenchFigures {
        try await report(label) {
            try await PeerBenchLoad(redis: client, route: route, pacing: pacing, warmup: .seconds(warmup), measure: .seconds(duration),
                                    drain: .seconds(10)).run()
        }
    }

    /// The same run with an RMBCaller (RMBClient, RMBDirectPeer) making the calls.
    func measureClient(_ label: String, _ client: any RMBCaller, to destination: UInt32, _ payload: [UInt8],
                       _ pacing: PeerBenchPacing) async throws -> PeerBenchFigures {
        try await report(label) {
            await PeerBenchClientLoad(client: client, destination: destination, command: command, payload: payload, ttl: ttl,
                                      pacing: pacing, warmup: .seconds(warmup), measure: .seconds(duration)).run()
        }
    }

    /// Runs `load` and prints its line, the watched processes' CPU use and (with --latency-log)
    /// every latency; returns requests/s and CPU per request.
    private func report(_ label: String, _ load: () async throws -> PeerBenchLoad.Outcome) async throws -> PeerBenchFigures {
        // The bench's own process too: the load generator, or the direct peer of the direct mode.
        let usage = PeerBenchCPU(watched: (watched ?? []) + [("bench", getpid())])
        let outcome = try await load()
        print(PeerBenchReport.line(label, outcome))
        let cpu = usage.report(requests: outcome.snapshot.due.count)
        if let cpu { print(cpu.line) }
        if let latencyLog { try PeerBenchReport.appendLatencies(label, outcome, to: latencyLog) }
        return PeerBenchFigures(throughput: outcome.throughput, cpuPerRequest: cpu?.together, cpuOfCaller: cpu?.micros(pid: getpid()),
                                p99: outcome.latency.percentile(0.99))
    }

    private func failover(_ client: RedisClient, payload: [UInt8], replyQueue: String) async throws {
        guard let pid = killPid else { return }
        let route = PeerBenchRoute.peer(destination: destination, command: command, payload: payload, ttl: failoverTtl, replyQueue: replyQueue)
        let killAt = Duration.seconds(duration) / 3
        var load = PeerBenchLoad(redis: client, route: route, pacing: .fixed(perSecond: Double(failoverRate)), warmup: .seconds(warmup),
                                 measure: .seconds(duration), drain: .seconds(Int64(failoverTtl)))
        load.event = (killAt, { kill(pid, SIGKILL) })
        let outcome = try await load.run()
        print(PeerBenchReport.line("rmb \(failoverRate)/s, relay killed", outcome))
        for line in PeerBenchReport.failover(outcome, pid: pid) { print(line) }
    }
}

extension PeerBench {
    /// A relay frozen mid-stream (SIGSTOP: its connections stay open, nothing comes back) for
    /// `--freeze-for` seconds, a quarter into the measured period.
    func freeze(_ client: RedisClient, rate: Int, payload: [UInt8], replyQueue: String) async throws {
        guard let pid = freezePid else { return }
        let route = PeerBenchRoute.peer(destination: destination, command: command, payload: payload, ttl: failoverTtl, replyQueue: replyQueue)
        var load = PeerBenchLoad(redis: client, route: route, pacing: .fixed(perSecond: Double(rate)), warmup: .seconds(warmup),
                                 measure: .seconds(duration), drain: .seconds(Int64(failoverTtl)))
        let seconds = freezeFor
        load.event = (Duration.seconds(duration) / 4, {
            kill(pid, SIGSTOP)
            Thread.detachNewThread {
                Thread.sleep(forTimeInterval: Double(seconds))
                kill(pid, SIGCONT)
            }
        })
        defer { kill(pid, SIGCONT) }
        let outcome = try await load.run()
        print(PeerBenchReport.line("rmb \(rate)/s, relay frozen \(seconds) s", outcome))
        for line in PeerBenchReport.freeze(outcome, pid: pid, seconds: seconds) { print(line) }
        // Let the relay catch up (and the peers promote it) before the next run.
        try await Task.sleep(for: .seconds(3))
    }
}

/// What the summary lines compare between two closed-loop runs.
struct PeerBenchFigures {
    let throughput: Double
    /// CPU µs per request, all watched processes together (nil: none watched).
    let cpuPerRequest: Double?
    /// CPU µs per request of the bench process alone (the load generator, or the direct caller).
    let cpuOfCaller: Double?
    /// Latency p99 in ms (nil: nothing answered).
    var p99: Double? = nil

    /// How the CPU side of a comparison reads.
    enum CPUComparison {
        /// What `a` adds to `b`'s CPU per request, in percent (RMBClient over the hand-written
        /// load): over the whole path, and counting only the calling process — the one whose
        /// code differs; the rest of the path does the same work, and its run-to-run drift is
        /// larger than the 5 % to be resolved.
        case added
        /// `b`'s CPU per request over `a`'s (the direct peer against the rmb-peer path): on CPUs
        /// saturated by a closed loop, what the throughput ratio tends to, with less noise than
        /// the throughput of two runs minutes apart.
        case inverseRatio
    }

    /// "a / b requests/s = r", and the CPU per request of both when measured.
    static func compare(_ a: PeerBenchFigures, _ b: PeerBenchFigures, cpu: CPUComparison?) -> String {
        var text = String(format: "%.0f / %.0f requests/s", a.throughput, b.throughput)
        if b.throughput > 0 { text += String(format: " = %.2f", a.throughput / b.throughput) }
        guard let cpu, let cpuA = a.cpuPerRequest, let cpuB = b.cpuPerRequest, cpuA > 0, cpuB > 0 else { return text }
        text += String(format: "; CPU per request, whole path: %.0f / %.0f µs", cpuA, cpuB)
        switch cpu {
        case .added:
            text += String(format: " = %+.1f %%", (cpuA / cpuB - 1) * 100)
            if let callerA = a.cpuOfCaller, let callerB = b.cpuOfCaller {
                text += String(format: "; the calling process alone: %.0f / %.0f µs, %+.1f %% of the path", callerA, callerB,
                               (callerA - callerB) / cpuB * 100)
            }
        case .inverseRatio: text += String(format: " (rmb-peer path's / direct's = %.2f)", cpuB / cpuA)
        }
        return text
    }
}

/// CPU seconds of the watched processes (from /proc/<pid>/stat) over one run.
struct PeerBenchCPU {
    let watched: [(String, Int32)]
    let before: [Double?]
    let started = peerBenchNanos()

    init(watched: [(String, Int32)]) {
        self.watched = watched
        before = watched.map { Self.cpuSeconds(pid: $0.1) }
    }

    /// CPU µs per request of each watched process since `init`, in the order watched.
    struct Usage {
        let processes: [(name: String, pid: Int32, micros: Double)]
        /// Cores busy on average over the run, all watched processes together.
        let cores: Double

        /// All watched processes together: what one request costs the whole path.
        var together: Double { processes.reduce(0) { $0 + $1.micros } }

        /// By pid, not by name: a `--watch` entry may take any name.
        func micros(pid: Int32) -> Double? { processes.first { $0.pid == pid }?.micros }

        var line: String {
            "    CPU µs/request: " + processes.map { String(format: "%@ %.0f", $0.name, $0.micros) }.joined(separator: ", ")
                + String(format: " (together %.0f µs, %.2f cores)", together, cores)
        }
    }

    func report(requests: Int) -> Usage? {
        guard !watched.isEmpty, requests > 0 else { return nil }
        let wall = Double(peerBenchNanos() - started) / 1e9
        let used = zip(watched, before).compactMap { process, start -> (name: String, pid: Int32, seconds: Double)? in
            guard let start, let end = Self.cpuSeconds(pid: process.1) else { return nil }
            return (process.0, process.1, end - start)
        }
        let seconds = used.reduce(0.0) { $0 + $1.seconds }
        return Usage(processes: used.map { ($0.name, $0.pid, $0.seconds * 1e6 / Double(requests)) }, cores: seconds / wall)
    }

    static func cpuSeconds(pid: Int32) -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        // Fields after "comm)": state is field 3, utime 14, stime 15.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}
