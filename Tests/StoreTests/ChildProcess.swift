import Foundation
import RMBTestSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A child process whose stdout is read line by line on a background thread, spawned with a
/// clean signal mask by the shared helper (why: RMBTestSupport/ChildProcess.swift). Used to
/// SIGKILL the crash writer mid-write.
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
        // Close-on-exec: children other tests spawn meanwhile must not inherit the write end
        // (stdout would not reach EOF until they exit). The spawn's dup2 clears it on fd 1.
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        let child: pid_t
        do {
            child = try Spawner.spawn(arguments, stdout: .descriptor(fds[1]), stderr: .discard)
        } catch {
            close(fds[0])
            close(fds[1])
            throw Failure(description: "\(error)")
        }
        close(fds[1])
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

    func kill(_ signal: Int32) { Spawner.send(signal, to: pid) }

    /// Waits for the exit and for stdout to reach EOF; returns the raw wait status.
    @discardableResult
    func wait() -> Int32 {
        let status = Spawner.waitForExit(pid) ?? 0
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

/// The shared spawn/wait helpers (this target's `ChildProcess` shadows the support one).
private typealias Spawner = ProcessControl
