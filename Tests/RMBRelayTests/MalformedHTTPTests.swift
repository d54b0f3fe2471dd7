import Foundation
import RMBTestSupport
import Testing
@testable import RMBRelay
#if canImport(Glibc)
import Glibc
#endif

/// Malformed HTTP, as a hostile client sends it: every request gets its 4xx/5xx and a closed
/// socket, never silence.
extension RelayTests {
@Suite(.timeLimit(.minutes(2)))
struct MalformedHTTPTests {
    /// Sends `bytes` on a fresh connection; the status line's code (0 if none) and whether the
    /// relay closed the socket within 5 s.
    static func exchange(port: Int, _ bytes: [UInt8]) async throws -> (status: Int, closed: Bool, text: String) {
        try await onThread {
            let fd = try RawHTTP.connectLoopback(port: port, timeout: 5)
            defer { close(fd) }
            var sent = 0
            while sent < bytes.count {
                let count = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if count <= 0 { break }   // the relay may close before reading everything (414)
                sent += count
            }
            let (received, closed) = RawSocket.readUntilClosed(fd, seconds: 5)
            let text = String(decoding: received, as: UTF8.self)
            let code = text.hasPrefix("HTTP/1.1 ") ? Int(text.dropFirst(9).prefix(3)) ?? 0 : 0
            return (code, closed, text)
        }
    }

    static let cases: [(name: String, request: [UInt8], status: Int)] = {
        func text(_ string: String) -> [UInt8] { Array(string.utf8) }
        let upgradeHeaders = "Connection: Upgrade\r\nUpgrade: websocket\r\n"
        return [
            ("bad method", text("G@T / HTTP/1.1\r\nHost: x\r\n\r\n"), 400),
            ("unknown version", text("GET / HTTP/9.9\r\nHost: x\r\n\r\n"), 505),
            ("NUL in a header", text("GET / HTTP/1.1\r\nHost: x\r\nX-A: a\u{0}b\r\n\r\n"), 400),
            ("non-UTF-8 target", [UInt8]("GET /".utf8) + [0xff, 0xfe] + text(" HTTP/1.1\r\nHost: x\r\n\r\n"), 400),
            ("negative Content-Length", text("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n"), 400),
            ("huge Content-Length", text("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n"), 400),
            ("conflicting Content-Length", text("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello"), 400),
            ("Transfer-Encoding and Content-Length", text("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n"), 400),
            ("bad chunk size", text("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"), 400),
            ("HTTP/2 preface then garbage", text("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") + [UInt8](repeating: 0x42, count: 64), 505),
            ("target over 16 KiB", text("GET /" + String(repeating: "a", count: 140_000) + " HTTP/1.1\r\nHost: x\r\n\r\n"), 414),
            ("headers over 80 KiB", text("GET / HTTP/1.1\r\nHost: x\r\n" + String(repeating: "X-Big: " + String(repeating: "b", count: 1000) + "\r\n", count: 100) + "\r\n"), 431),
            ("upgrade without Sec-WebSocket-Key", text("GET /?token HTTP/1.1\r\nHost: x\r\n\(upgradeHeaders)Sec-WebSocket-Version: 13\r\n\r\n"), 500),
            ("upgrade with version 8", text("GET /?token HTTP/1.1\r\nHost: x\r\n\(upgradeHeaders)Sec-WebSocket-Version: 8\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"), 500),
            // Not an upgrade without `Connection: Upgrade`: an ordinary GET /, so 404 (relay.md §1).
            ("Upgrade header alone", text("GET /?token HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nConnection: close\r\n\r\n"), 404),
        ]
    }()

    @Test func everyMalformedRequestGetsItsStatusAndAClosedSocket() async throws {
        let redis = try await startRedis()
        defer { redis.stop() }
        let relay = try await RelayHarness.start(redis: redis.url, twins: MemoryTwins())
        defer { Task { await relay.stop() } }
        var failures: [String] = []
        for (name, request, status) in Self.cases {
            let reply = try await Self.exchange(port: relay.port, request)
            if reply.status != status || !reply.closed {
                failures.append("\(name): expected \(status) and a close, got \(reply.status) closed=\(reply.closed): \(reply.text.prefix(120))")
            }
        }
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
        let version8 = try #require(Self.cases.first { $0.name == "upgrade with version 8" })
        let handshake = try await Self.exchange(port: relay.port, version8.request)
        #expect(handshake.text.hasSuffix(HTTPErrorCatcher.handshakeErrorText), "\(handshake.text)")
        // and the relay still serves
        #expect(try await RawHTTP.send(port: relay.port, request: "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").status == 200)
    }
}
}
