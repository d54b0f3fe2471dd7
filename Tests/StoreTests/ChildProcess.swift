import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A child process whose stdout is read line by line on a background thread, spawned with a
/// clean signal mask (test threads block most signals and Foundation's `Process` would pass
/// that on; see RMBTestSupport/RedisServer.swift). Used to SIGKILL the crash writer mid-write.
final class ChildProcess: @unchecked Sendable {
    struct Failure: Error, CustomStringConvertible { let description: String }

    let pid: pid_t
    private let readFD: Int32
    private let lock = NSLock()
    private var lines: [String] = []
    private var partial: [UInt8] = []
    private var ended = false
    private let reader = DispatchSemaphore(value: 0)

    init(_ arguments: [String]) throws {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw Failure(description: "pipe: errno \(errno)") }
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
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        posix_spawn_file_actions_addclose(&actions, fds[0])
        posix_spawn_file_actions_addclose(&actions, fds[1])
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)

        var cArguments: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) }
        cArguments.append(nil)
        defer { for pointer in cArguments { free(pointer) } }
        var child: pid_t = 0
        let rc = posix_spawn(&child, arguments[0], &actions, &attributes, cArguments, environ)
        close(fds[1])
        guard rc == 0 else {
            close(fds[0])
            throw Failure(description: "posix_spawn \(arguments[0]): \(String(cString: strerror(rc)))")
        }
        pid = child
        readFD = fds[0]
        let thread = Thread { [self] in readLoop() }
        thread.start()
    }

    deinit { close(readFD) }

    private func readLoop() {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = read(readFD, &buffer, buffer.count)
            if count <= 0 { break }
            lock.withLock {
                for byte in buffer.prefix(count) {
                    if byte == UInt8(ascii: "\n") {
                        lines.append(String(decoding: partial, as: UTF8.self))
                        partial.removeAll(keepingCapacity: true)
                    } else {
                        partial.append(byte)
                    }
                }
            }
        }
        lock.withLock { ended = true }
        reader.signal()
    }

    /// Complete lines read so far (a torn last line is not included).
    var completeLines: [String] { lock.withLock { lines } }

    func kill(_ signal: Int32) { sendSignal(pid, signal) }

    /// Waits for the exit and for stdout to reach EOF; returns the raw wait status.
    @discardableResult
    func wait() -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        reader.wait()
        return status
    }
}

/// The `rmb` executable built next to the test runner (.build/<config>/rmb).
var rmbExecutable: String {
    var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    while dir.pathExtension == "xctest" || dir.lastPathComponent == "Contents" || dir.lastPathComponent == "MacOS" {
        dir.deleteLastPathComponent()
    }
    return dir.appendingPathComponent("rmb").path
}

/// File scope so `kill(2)` is not shadowed by `ChildProcess.kill`.
private func sendSignal(_ pid: pid_t, _ signal: Int32) { _ = kill(pid, signal) }
