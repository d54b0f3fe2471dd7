import Foundation
import RMBTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// The built `rmb-relay` executable run as a child process (next to the test runner in
/// .build/<config>/), spawned with a clean signal mask so SIGTERM reaches it (ChildProcess in
/// RMBTestSupport).
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
        // stdout truncates the log, stderr appends to it (two open files, as before).
        let child = try ProcessControl.spawn([Self.executable] + arguments,
                                           stdout: .file(logPath, append: false), stderr: .file(logPath, append: true))
        pid = child
    }

    /// Sends `signal` and waits for the exit status (nil if it did not exit in time; then SIGKILL).
    func stop(signal: Int32 = SIGTERM, timeout: Duration = .seconds(10)) -> Int32? {
        guard let status = ProcessControl.terminate(pid, signal: signal, grace: timeout) else { return nil }
        return (status & 0x7f) == 0 ? (status >> 8) & 0xff : -(status & 0x7f)
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }
}
