import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A WebSocket client that upgrades and then stops reading (a tiny receive buffer), so the
/// relay's writes to it stall and its frames pile up in the session's queue. `drain()` reads
/// everything the socket still holds once the relay has closed it.
final class StalledWebSocket: @unchecked Sendable {
    private let fd: Int32

    private init(fd: Int32) { self.fd = fd }

    deinit { close(fd) }

    static func connect(port: Int, token: String) async throws -> StalledWebSocket {
        try await onThread { try blockingConnect(port: port, token: token) }
    }

    private static func blockingConnect(port: Int, token: String) throws -> StalledWebSocket {
        // A small receive buffer: the relay's writes back up quickly when this client stops reading.
        let fd = try RawHTTP.connectLoopback(port: port, timeout: 5, receiveBuffer: 4096)
        let socket = StalledWebSocket(fd: fd)
        let request = "GET /?\(token) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
            + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
        let bytes = Array(request.utf8)
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        // Reads the 101 response byte by byte, so no frame is consumed with it.
        var head: [UInt8] = []
        var byte: UInt8 = 0
        while !head.ends(with: Array("\r\n\r\n".utf8)) {
            guard recv(fd, &byte, 1, 0) == 1 else { throw TimeoutError() }
            head.append(byte)
        }
        guard String(decoding: head, as: UTF8.self).hasPrefix("HTTP/1.1 101") else { throw TimeoutError() }
        return socket
    }

    /// Everything the socket delivers until the relay closes it (`closed`) or `seconds` pass.
    func readUntilClosed(seconds: Int) async throws -> (bytes: [UInt8], closed: Bool) {
        try await onThread { RawSocket.readUntilClosed(self.fd, seconds: seconds) }
    }

    /// The payloads of the complete binary frames left in the socket, up to its end.
    func drain() async throws -> [[UInt8]] {
        try await onThread { self.blockingDrain() }
    }

    private func blockingDrain() -> [[UInt8]] {
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count <= 0 { break }
            data += buffer.prefix(count)
        }
        var payloads: [[UInt8]] = []
        var index = 0
        while index + 2 <= data.count {
            let opcode = data[index] & 0x0f
            var length = Int(data[index + 1] & 0x7f)
            var start = index + 2
            if length == 126 {
                guard start + 2 <= data.count else { break }
                length = Int(data[start]) << 8 | Int(data[start + 1])
                start += 2
            } else if length == 127 {
                guard start + 8 <= data.count else { break }
                length = data[start..<start + 8].reduce(0) { $0 << 8 | Int($1) }
                start += 8
            }
            guard start + length <= data.count else { break }   // cut off by the close
            if opcode == 0x2 { payloads.append(Array(data[start..<start + length])) }
            index = start + length
        }
        return payloads
    }
}

private extension Array where Element == UInt8 {
    func ends(with suffix: [UInt8]) -> Bool { count >= suffix.count && Array(self[(count - suffix.count)...]) == suffix }
}
