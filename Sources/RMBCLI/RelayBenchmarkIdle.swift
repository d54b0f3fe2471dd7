import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Idle authenticated sessions for the memory figure of `rmb bench relay`. Each is a plain
/// blocking socket that performs the WebSocket upgrade (with its own session token) and then
/// just stays open: an idle peer sends nothing, so the bench needs no event loop, task or
/// buffer per connection, and its own footprint does not limit how many it can hold.
struct IdleSessions {
    private(set) var descriptors: [Int32] = []

    enum Failure: Error, CustomStringConvertible {
        case connect(Int, String)
        var description: String {
            switch self {
            case let .connect(index, reason): "idle session \(index): \(reason)"
            }
        }
    }

    /// Opens `tokens.count` sessions to the relay on 127.0.0.1:`port`, one after another.
    mutating func open(tokens: [String], port: Int) throws(Failure) {
        descriptors.reserveCapacity(tokens.count)
        for (index, token) in tokens.enumerated() {
            guard let fd = LoopbackTCP.connect(port: port) else {
                throw .connect(index, "connect failed: \(String(cString: strerror(errno)))")
            }
            var timeout = timeval(tv_sec: 10, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            let request = "GET /?\(token) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: cm1iLWJlbmNoLXJlbGF5IQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
            let status: String
            do { status = try Self.upgrade(fd, request: Array(request.utf8)) } catch {
                close(fd)
                throw .connect(index, error.description)
            }
            guard status.hasPrefix("HTTP/1.1 101") else {
                close(fd)
                throw .connect(index, "upgrade refused: \(status)")
            }
            descriptors.append(fd)
        }
    }

    mutating func closeAll() {
        for fd in descriptors { close(fd) }
        descriptors = []
    }

    /// Writes the request and reads the response head; returns its status line.
    private static func upgrade(_ fd: Int32, request: [UInt8]) throws(InputError) -> String {
        var written = 0
        while written < request.count {
            let count = request[written...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard count > 0 else { throw InputError("write failed: \(String(cString: strerror(errno)))") }
            written += count
        }
        var head: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 512)
        while head.count < 16_384 {
            // Byte by byte would be slow; a 101 has no body and the relay sends nothing before
            // the client does, so reading whatever is available cannot swallow a frame.
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { throw InputError(count == 0 ? "closed by the relay" : "read failed: \(String(cString: strerror(errno)))") }
            head += chunk[0..<count]
            if endsHead(head) { break }
        }
        let text = String(decoding: head, as: UTF8.self)
        return String(text.prefix { $0 != "\r" && $0 != "\n" })
    }
}

/// Whether `bytes` contain the blank line (CR LF CR LF) that ends an HTTP head.
private func endsHead(_ bytes: [UInt8]) -> Bool {
    guard bytes.count >= 4 else { return false }
    for index in 0...(bytes.count - 4) where bytes[index] == 13 && bytes[index + 1] == 10 && bytes[index + 2] == 13 && bytes[index + 3] == 10 {
        return true
    }
    return false
}
