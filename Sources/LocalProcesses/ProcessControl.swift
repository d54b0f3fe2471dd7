import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Running a child process from tests: spawn, probe, signal, terminate and reap by pid.
/// (The test support's `ChildProcess` instances add a log file and restarts on top; RMBTesting's
/// throwaway Redis runs through it.)
///
/// Why not Foundation's `Process`:
/// - Swift Testing runs tests on threads that block most signals, and a child inherits its
///   parent thread's signal mask across exec. A server started through `Process` would then
///   ignore SIGTERM (redis, rmb-relay and rmb-peer shutdown tests need it). `spawn` starts the
///   child with an empty mask and default dispositions for SIGPIPE, SIGTERM, SIGINT, SIGHUP and
///   SIGCHLD.
/// - `Process.waitUntilExit` can hang on Linux; `waitpid` with a deadline does not.
///
/// A child may also be reaped by someone else (Foundation's `Process` is used by other tests in
/// the same runner), so `state(of:)` falls back to asking the kernel with `kill(pid, 0)` when
/// `waitpid` reports no such child, and retries after EINTR.
public enum ProcessControl {
    /// Where a child's stdout or stderr goes. Stdin is always /dev/null.
    public enum Output: Sendable {
        /// /dev/null.
        case discard
        /// A file, created (0644) if missing, then appended to (`append`) or truncated.
        case file(String, append: Bool)
        /// An open descriptor of this process (e.g. a pipe's write end), duplicated onto the
        /// stream and closed in the child. Make other descriptors close-on-exec yourself.
        case descriptor(Int32)
        /// Stderr only: the same open file as stdout (one shared offset).
        case stdout
    }

    /// What `waitpid` says about a child.
    public enum State: Sendable, Equatable {
        case running
        /// Exited and reaped here; the raw wait status (see `exitCode(of:)`).
        case exited(status: Int32)
        /// Gone, but reaped by someone else: no status.
        case reapedElsewhere
    }

    public struct SpawnError: Error, CustomStringConvertible {
        public let executable: String
        public let reason: String
        public var description: String { "posix_spawn \(executable): \(reason)" }
    }

    /// Starts `arguments[0]` (a path, not looked up in PATH) with `arguments` as its argv, stdin
    /// on /dev/null, a clean signal state, and this process' environment plus `environment`
    /// (which wins on conflicts). Returns the pid; reap it with `terminate`, `waitForExit` or
    /// `state(of:)`.
    public static func spawn(
        _ arguments: [String], environment: [String: String] = [:],
        stdout: Output = .discard, stderr: Output = .discard
    ) throws -> pid_t {
        precondition(!arguments.isEmpty, "spawn needs at least the executable path")
        if case .stdout = stdout { preconditionFailure("stdout cannot be redirected to itself") }
        #if canImport(Darwin)
        var attributes: posix_spawnattr_t?
        var actions: posix_spawn_file_actions_t?
        #else
        var attributes = posix_spawnattr_t()
        var actions = posix_spawn_file_actions_t()
        #endif
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }

        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        var inherited: Set<Int32> = []
        for (target, output) in [(Int32(1), stdout), (Int32(2), stderr)] {
            switch output {
            case .discard:
                posix_spawn_file_actions_addopen(&actions, target, "/dev/null", O_WRONLY, 0)
            case let .file(path, append):
                posix_spawn_file_actions_addopen(&actions, target, path, O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC), 0o644)
            case let .descriptor(fd):
                posix_spawn_file_actions_adddup2(&actions, fd, target)
                if fd > 2 { inherited.insert(fd) }
            case .stdout:
                posix_spawn_file_actions_adddup2(&actions, 1, target)
            }
        }
        // Nothing else crosses over: a descriptor the child inherited by accident (a socket
        // another thread opened without O_CLOEXEC) stays open as long as the child runs, so
        // closing it here would send no FIN (seen: a test's closed connection kept its relay
        // slot for 18 s, held by a relay started meanwhile).
        if closeFromAction?(&actions, 3) != 0 {
            for fd in inherited.sorted() { posix_spawn_file_actions_addclose(&actions, fd) }
        }

        var cArguments: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) }
        cArguments.append(nil)
        defer { for pointer in cArguments { free(pointer) } }
        var cEnvironment: [UnsafeMutablePointer<CChar>?] = []
        if !environment.isEmpty {
            var merged = ProcessInfo.processInfo.environment
            for (key, value) in environment { merged[key] = value }
            cEnvironment = merged.map { strdup("\($0.key)=\($0.value)") }
            cEnvironment.append(nil)
        }
        defer { for pointer in cEnvironment { free(pointer) } }

        var pid: pid_t = 0
        let rc = environment.isEmpty
            ? posix_spawn(&pid, arguments[0], &actions, &attributes, cArguments, environ)
            : posix_spawn(&pid, arguments[0], &actions, &attributes, cArguments, cEnvironment)
        guard rc == 0 else { throw SpawnError(executable: arguments[0], reason: String(cString: strerror(rc))) }
        return pid
    }

    /// Non-blocking: running, or exited (and now reaped). EINTR counts as running; a child
    /// reaped elsewhere is running as long as `kill(pid, 0)` finds it.
    public static func state(of pid: pid_t) -> State {
        var status: Int32 = 0
        let result = waitpid(pid, &status, WNOHANG)
        if result == 0 { return .running }
        if result == pid { return .exited(status: status) }
        if errno == EINTR || send(0, to: pid) { return .running }
        return .reapedElsewhere
    }

    /// True while the child runs. Once false, the child has been reaped (the status is lost:
    /// use `state(of:)` to keep it).
    public static func isRunning(_ pid: pid_t) -> Bool { state(of: pid) == .running }

    /// Sends `signal` (0: only checks that the process exists). True if it was delivered.
    @discardableResult
    public static func send(_ signal: Int32, to pid: pid_t) -> Bool { processSignal(pid, signal) == 0 }

    /// Blocks until the child exits and reaps it (EINTR-safe). The raw wait status, nil if the
    /// child was reaped elsewhere.
    @discardableResult
    public static func waitForExit(_ pid: pid_t) -> Int32? {
        var status: Int32 = 0
        while true {
            if waitpid(pid, &status, 0) == pid { return status }
            if errno != EINTR { return nil }
        }
    }

    /// Sends `signal`, waits up to `grace` for the exit, then SIGKILLs and reaps. The raw wait
    /// status if the child exited within `grace`; nil if it had to be killed or was reaped
    /// elsewhere.
    @discardableResult
    public static func terminate(_ pid: pid_t, signal: Int32 = SIGTERM, grace: Duration = .seconds(5)) -> Int32? {
        send(signal, to: pid)
        let deadline = ContinuousClock.now + grace
        while true {
            switch state(of: pid) {
            case .running: break
            case let .exited(status): return status
            case .reapedElsewhere: return nil
            }
            if ContinuousClock.now > deadline {
                send(SIGKILL, to: pid)
                waitForExit(pid)
                return nil
            }
            usleep(5_000)
        }
    }
}

/// File scope so `kill(2)` is not shadowed by `ChildProcess.kill()`.
private func processSignal(_ pid: pid_t, _ signal: Int32) -> Int32 { kill(pid, signal) }

extension ProcessControl {
    #if canImport(Glibc)
    typealias FileActions = posix_spawn_file_actions_t
    #else
    typealias FileActions = posix_spawn_file_actions_t?
    #endif

    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34 on), looked up at run time: the
    /// Glibc module does not export it, and older systems lack it.
    static let closeFromAction: (@convention(c) (UnsafeMutablePointer<FileActions>, Int32) -> Int32)? = {
        #if canImport(Glibc)
        // RTLD_DEFAULT is the null handle on Linux.
        guard let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (UnsafeMutablePointer<FileActions>, Int32) -> Int32).self)
        #else
        return nil
        #endif
    }()
}
