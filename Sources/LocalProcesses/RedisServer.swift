import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A throwaway `redis-server` for tests: loopback only, a free port picked by the kernel (so
/// parallel test runs of other engineers never clash), no persistence, files in a temp dir.
///
///     let server = try RedisServer.start()
///     defer { server.stop() }
///     let client = try RedisClient(url: server.url)
///
/// `restart()` brings it back on the same port with an empty data set, for "Redis restarted"
/// tests; `kill()` stops it with SIGKILL. The directory is removed when the object goes away.
public final class RedisServer: @unchecked Sendable {
    public enum Failure: Error, CustomStringConvertible {
        case executableMissing(String)
        case didNotStart(String)
        public var description: String {
            switch self {
            case let .executableMissing(path): "redis-server not found at \(path)"
            case let .didNotStart(reason): "redis-server did not start: \(reason)"
            }
        }
    }

    public let host = "127.0.0.1"
    public private(set) var port: Int
    public let directory: URL
    public let executable: String
    /// Extra `redis-server` options, e.g. `["--requirepass", "secret"]`.
    public let options: [String]
    public var url: String { "redis://\(host):\(port)" }

    private let lock = NSLock()
    /// The running server's pid, 0 when stopped. Guarded by `lock`.
    private var pid: pid_t = 0

    private init(executable: String, port: Int, directory: URL, options: [String]) {
        self.executable = executable
        self.options = options
        self.port = port
        self.directory = directory
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: directory)
    }

    /// Starts a server on a free loopback port and waits until it answers PING (a server with
    /// `--requirepass` counts as up when it asks for the password).
    public static func start(
        executable: String = "/usr/bin/redis-server", options: [String] = [], timeout: Duration = .seconds(10)
    ) throws -> RedisServer {
        guard FileManager.default.isExecutableFile(atPath: executable) else { throw Failure.executableMissing(executable) }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rmb-redis-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var lastError: Error = Failure.didNotStart("no attempt")
        // Another process may grab the port between our probe and redis' bind: try a few ports.
        for _ in 0..<5 {
            let server = RedisServer(executable: executable, port: try freeLoopbackPort(), directory: directory, options: options)
            do {
                try server.launch(timeout: timeout)
                return server
            } catch {
                lastError = error
                server.stop()
            }
        }
        try? FileManager.default.removeItem(at: directory)
        throw lastError
    }

    /// Starts the server again on the same port if it is not running (data starts empty).
    public func start(timeout: Duration = .seconds(10)) throws {
        try launch(timeout: timeout)
    }

    /// Stops (SIGTERM, then waits) and starts again on the same port.
    public func restart(timeout: Duration = .seconds(10)) throws {
        stop()
        try launch(timeout: timeout)
    }

    /// SIGTERM and wait for exit (SIGKILL after 5 s). Safe to call twice.
    public func stop() { terminate(signal: SIGTERM) }

    /// SIGKILL and wait for exit (a crash, not a shutdown).
    public func kill() { terminate(signal: SIGKILL) }

    /// Stops the server in its tracks (SIGSTOP): connections stay open and nothing is answered,
    /// as with a Redis stalled by a slow disk or a swapping host. ``resume()`` continues it.
    public func pause() { lock.withLock { if pid > 0 { _ = ProcessControl.send(SIGSTOP, to: pid) } } }

    /// Continues a paused server (SIGCONT).
    public func resume() { lock.withLock { if pid > 0 { _ = ProcessControl.send(SIGCONT, to: pid) } } }

    public var isRunning: Bool {
        lock.withLock {
            guard pid > 0 else { return false }
            if ProcessControl.isRunning(pid) { return true }
            pid = 0   // exited (and now reaped)
            return false
        }
    }

    // MARK: Internals

    private func terminate(signal: Int32) {
        lock.withLock {
            guard pid > 0 else { return }
            ProcessControl.terminate(pid, signal: signal, grace: .seconds(5))
            pid = 0
        }
    }

    private func launch(timeout: Duration) throws {
        if isRunning { return }
        let arguments = [
            executable, "--port", "\(port)", "--bind", host, "--save", "", "--appendonly", "no",
            "--dir", directory.path, "--daemonize", "no",
            "--logfile", directory.appendingPathComponent("redis.log").path,
        ] + options
        let child: pid_t
        do {
            child = try ProcessControl.spawn(arguments)   // stdio on /dev/null
        } catch {
            throw Failure.didNotStart("\(error)")
        }
        lock.withLock { pid = child }
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let answer = rawPing(), answer.hasPrefix("+PONG") || answer.hasPrefix("-NOAUTH") { return }
            if !isRunning { break }
            usleep(20_000)
        }
        let log = (try? String(contentsOf: directory.appendingPathComponent("redis.log"), encoding: .utf8)) ?? ""
        throw Failure.didNotStart("port \(port): \(log.suffix(500))")
    }

    /// Sends a raw RESP `PING` (no client library: this target must not depend on ours).
    public func ping() -> Bool {
        rawPing()?.hasPrefix("+PONG") ?? false
    }

    /// The start of the server's answer to `PING`, `nil` when it does not answer.
    private func rawPing() -> String? {
        let fd = socket(AF_INET, streamSocketType, 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = loopbackAddress(port: port)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return nil }
        let request = Array("*1\r\n$4\r\nPING\r\n".utf8)
        guard send(fd, request, request.count, noSignalFlag) == request.count else { return nil }
        var buffer = [UInt8](repeating: 0, count: 64)
        let count = recv(fd, &buffer, buffer.count, 0)
        return count > 0 ? String(decoding: buffer.prefix(count), as: UTF8.self) : nil
    }
}

/// Asks the kernel for a free loopback TCP port (bind to port 0, read it back, release it).
public func freeLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, streamSocketType, 0)
    guard fd >= 0 else { throw RedisServer.Failure.didNotStart("socket: errno \(errno)") }
    defer { close(fd) }
    var address = loopbackAddress(port: 0)
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0 else { throw RedisServer.Failure.didNotStart("bind: errno \(errno)") }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let named = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    guard named == 0 else { throw RedisServer.Failure.didNotStart("getsockname: errno \(errno)") }
    return Int(UInt16(bigEndian: address.sin_port))
}

#if canImport(Glibc)
private let streamSocketType = Int32(SOCK_STREAM.rawValue)
private let noSignalFlag = Int32(MSG_NOSIGNAL)
#else
private let streamSocketType = SOCK_STREAM
private let noSignalFlag: Int32 = 0
#endif

private func loopbackAddress(port: Int) -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = UInt16(port).bigEndian
    address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
    return address
}
