import Foundation
import LocalProcesses

#if canImport(Glibc)
import Glibc
#endif

/// A child process of the relay bench (`rmb-relay`, optionally `redis-server`), started by
/// ``ProcessControl/spawn(_:environment:stdout:stderr:)`` (a clean signal state, so a relay
/// that would ignore SIGTERM cannot outlive the bench), stdout+stderr into a log file.
final class BenchChild: Sendable {
    let name: String
    let pid: pid_t
    let logPath: String

    init(name: String, arguments: [String], logPath: String) throws(InputError) {
        guard let executable = arguments.first, FileManager.default.isExecutableFile(atPath: executable) else {
            throw InputError("\(name): no executable at \(arguments.first ?? "")")
        }
        do {
            pid = try ProcessControl.spawn(arguments, stdout: .file(logPath, append: false), stderr: .stdout)
        } catch {
            throw InputError("\(name): \(error)")
        }
        self.name = name
        self.logPath = logPath
    }

    /// Whether the child still runs (reaps it if it exited).
    var isRunning: Bool { ProcessControl.isRunning(pid) }

    /// SIGTERM, then SIGKILL after `grace`; always reaps.
    func stop(grace: Duration = .seconds(5)) {
        guard isRunning else { return }
        _ = ProcessControl.terminate(pid, grace: grace)
    }

    /// The last lines of the child's log, for error messages.
    func logTail(lines: Int = 5) -> String {
        guard let text = try? String(contentsOfFile: logPath, encoding: .utf8) else { return "" }
        return text.split(separator: "\n").suffix(lines).joined(separator: "\n")
    }
}

/// What the bench reads about a process from /proc: resident memory and CPU time.
enum ProcessProbe {
    /// `VmRSS` of /proc/<pid>/status, in bytes.
    static func residentBytes(pid: pid_t) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 2, let kib = Int(fields[1]) else { return nil }
            return kib * 1024
        }
        return nil
    }

    /// User+system CPU seconds of `pid` so far (fields 14 and 15 of /proc/<pid>/stat).
    static func cpuSeconds(pid: pid_t) -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        // Fields after the command name (which may contain spaces); state is field 3.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}

/// Loopback TCP helpers.
enum LoopbackTCP {
    /// A port the kernel considers free right now (bind to 0, read it back, close).
    static func freePort() throws(InputError) -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw InputError("socket() failed: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var address = loopback(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw InputError("bind() failed: \(String(cString: strerror(errno)))") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }

    /// A connected blocking socket to 127.0.0.1:`port`, or nil.
    static func connect(port: Int) -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var address = loopback(port: port)
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if rc != 0 { close(fd); return nil }
        return fd
    }

    /// Waits until something accepts connections on `port`, while `alive` holds.
    static func waitListening(port: Int, timeout: Duration, alive: () -> Bool) -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline && alive() {
            if let fd = connect(port: port) { close(fd); return true }
            usleep(50_000)
        }
        return false
    }
}

/// Raises this process' RLIMIT_NOFILE to the hard limit (idle connections need one descriptor
/// each on the bench side too); returns the soft limit in force afterwards.
@discardableResult
func raiseBenchFileLimit() -> Int {
    var limit = rlimit()
    guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
    if limit.rlim_cur < limit.rlim_max {
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        _ = getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }
    return Int(clamping: limit.rlim_cur)
}
