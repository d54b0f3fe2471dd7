import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A bare HTTP/1.1 exchange over a loopback socket (status, body), for requests whose exact
/// answer matters (refused upgrades, 404s) and that higher-level clients would interpret.
enum RawHTTP {
    struct Reply { var status: Int; var body: String }

    /// Runs the blocking exchange on its own thread: blocking a cooperative thread would stall
    /// the in-process relay under test (2 cores, 2 cooperative threads).
    static func send(port: Int, request: String, body: [UInt8] = [], timeout: Int = 5) async throws -> Reply {
        try await onThread { try blockingSend(port: port, request: request, body: body, timeout: timeout) }
    }

    /// A blocking TCP socket connected to 127.0.0.1:`port`, reads timing out after `timeout` s
    /// (and a `receiveBuffer`-byte kernel buffer when given). The caller closes it.
    static func connectLoopback(port: Int, timeout: Int, receiveBuffer: Int32? = nil, connectTimeoutMicroseconds: Int? = nil) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TimeoutError() }
        if let connectTimeoutMicroseconds {
            // Linux bounds a blocking connect by the send timeout (a full accept backlog drops SYNs).
            var tv = timeval(tv_sec: connectTimeoutMicroseconds / 1_000_000, tv_usec: connectTimeoutMicroseconds % 1_000_000)
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        }
        if var size = receiveBuffer {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var tv = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(fd)
            throw TimeoutError()
        }
        return fd
    }

    static func blockingSend(port: Int, request: String, body: [UInt8] = [], timeout: Int = 5) throws -> Reply {
        let fd = try connectLoopback(port: port, timeout: timeout)
        defer { close(fd) }
        let bytes = Array(request.utf8) + body
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count <= 0 { break }
            received += buffer.prefix(count)
            if let reply = parse(received) { return reply }
        }
        return parse(received) ?? Reply(status: 0, body: String(decoding: received, as: UTF8.self))
    }

    /// A complete response (headers + Content-Length body), or nil.
    private static func parse(_ data: [UInt8]) -> Reply? {
        let text = String(decoding: data, as: UTF8.self)
        guard let headerEnd = text.range(of: "\r\n\r\n") else { return nil }
        let head = text[..<headerEnd.lowerBound]
        let statusLine = head.split(separator: "\r\n").first ?? ""
        let parts = statusLine.split(separator: " ")
        guard parts.count >= 2, let status = Int(parts[1]) else { return nil }
        var length = 0
        for line in head.split(separator: "\r\n") where line.lowercased().hasPrefix("content-length:") {
            length = Int(line.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) ?? 0
        }
        let body = text[headerEnd.upperBound...]
        guard body.utf8.count >= length else { return nil }
        return Reply(status: status, body: String(body.prefix(length)))
    }

    static func upgrade(port: Int, target: String) async throws -> Reply {
        try await send(port: port, request: "GET \(target) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                 + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
    }
}

/// Runs blocking work on a fresh thread and resumes with its result.
func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread { continuation.resume(with: Result { try body() }) }
        thread.start()
    }
}

/// Blocking helpers for sockets a test holds open on purpose (idle, slow, stalled clients).
enum RawSocket {
    /// Reads until the far side closes (true) or `seconds` pass with the socket still open
    /// (false); a reset counts as closed.
    static func readUntilClosed(_ fd: Int32, seconds: Int) -> (bytes: [UInt8], closed: Bool) {
        var tv = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let deadline = ContinuousClock.now + .seconds(seconds)
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while ContinuousClock.now < deadline {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count == 0 { return (received, true) }
            if count > 0 { received += buffer.prefix(count); continue }
            if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { continue }
            return (received, true)
        }
        return (received, false)
    }

    static func send(_ fd: Int32, _ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }
}
