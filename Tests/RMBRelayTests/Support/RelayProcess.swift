import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The built `rmb-relay` executable run as a child process (next to the test runner in
/// .build/<config>/), spawned with a clean signal mask so SIGTERM reaches it.
final class RelayProcess: @unchecked Sendable {
    let pid: pid_t
    let logPath: String

    static var executable: String {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        while dir.pathExtension == "xctest" || dir.lastPathComponent == "Contents" || dir.lastPathComponent == "MacOS" {
            dir.deleteLastPathComponent()
        }
        return dir.appendingPathComponent("rmb-relay").path
    }

    init(arguments: [String]) throws {
        logPath = FileManager.default.temporaryDirectory.appendingPathComponent("rmb-relay-\(UUID().uuidString).log").path
        var attributes = posix_spawnattr_t()
        var actions = posix_spawn_file_actions_t()
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
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, logPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        let all = [Self.executable] + arguments
        var cArguments: [UnsafeMutablePointer<CChar>?] = all.map { strdup($0) }
        cArguments.append(nil)
        defer { for pointer in cArguments { free(pointer) } }
        var child: pid_t = 0
        let rc = posix_spawn(&child, Self.executable, &actions, &attributes, cArguments, environ)
        guard rc == 0 else { throw TimeoutError() }
        pid = child
    }

    /// Sends `signal` and waits for the exit status (nil if it did not exit in time; then SIGKILL).
    func stop(signal: Int32 = SIGTERM, timeout: Duration = .seconds(10)) -> Int32? {
        kill(pid, signal)
        var status: Int32 = 0
        let deadline = ContinuousClock.now + timeout
        while waitpid(pid, &status, WNOHANG) == 0 {
            if ContinuousClock.now > deadline {
                kill(pid, SIGKILL)
                _ = waitpid(pid, &status, 0)
                return nil
            }
            usleep(10_000)
        }
        return (status & 0x7f) == 0 ? (status >> 8) & 0xff : -(status & 0x7f)
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }
}
