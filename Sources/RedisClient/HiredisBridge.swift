import CHiredis
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Builds the `argc/argv/argvlen` triple hiredis wants from byte arguments. All arguments are
/// packed into one buffer with a spare trailing byte, so even empty arguments get a valid pointer.
func withArgv<R>(
    _ arguments: [RedisArgument],
    _ body: (Int32, UnsafeMutablePointer<UnsafePointer<CChar>?>?, UnsafePointer<Int>?) -> R
) -> R {
    var packed: [UInt8] = []
    packed.reserveCapacity(arguments.reduce(1) { $0 + $1.bytes.count })
    var offsets: [Int] = []
    var lengths: [Int] = []
    offsets.reserveCapacity(arguments.count)
    lengths.reserveCapacity(arguments.count)
    for argument in arguments {
        offsets.append(packed.count)
        lengths.append(argument.bytes.count)
        packed.append(contentsOf: argument.bytes)
    }
    packed.append(0)
    return packed.withUnsafeBytes { buffer in
        let base = buffer.baseAddress?.assumingMemoryBound(to: CChar.self)
        var pointers: [UnsafePointer<CChar>?] = offsets.map { offset in base.map { UnsafePointer($0 + offset) } }
        return pointers.withUnsafeMutableBufferPointer { argv in
            lengths.withUnsafeBufferPointer { lengthBuffer in
                body(Int32(arguments.count), argv.baseAddress, lengthBuffer.baseAddress)
            }
        }
    }
}

extension RedisReply {
    /// Deep-copies a hiredis reply tree. The caller frees the root with `freeReplyObject`.
    init(_ reply: UnsafePointer<redisReply>) {
        let node = reply.pointee
        switch node.type {
        case REDIS_REPLY_STATUS: self = .status(RedisReply.text(node))
        case REDIS_REPLY_ERROR: self = .error(RedisReply.text(node))
        case REDIS_REPLY_INTEGER: self = .integer(Int64(node.integer))
        case REDIS_REPLY_STRING: self = .bulk(RedisReply.bytes(node))
        case REDIS_REPLY_ARRAY:
            var elements: [RedisReply] = []
            elements.reserveCapacity(node.elements)
            if let children = node.element {
                for index in 0..<node.elements {
                    if let child = children[index] { elements.append(RedisReply(UnsafePointer(child))) } else { elements.append(.null) }
                }
            }
            self = .array(elements)
        default: self = .null   // REDIS_REPLY_NIL
        }
    }

    private static func bytes(_ node: redisReply) -> [UInt8] {
        guard let str = node.str, node.len > 0 else { return [] }
        return Array(UnsafeRawBufferPointer(start: str, count: node.len))
    }

    private static func text(_ node: redisReply) -> String {
        String(decoding: bytes(node), as: UTF8.self)
    }
}

/// A thread-safe way to abort a call blocked on a connection's socket: `shutdown(2)` wakes the
/// blocked read with EOF, and the call fails with `.closed`. Used for cancellation and shutdown
/// of `BRPOP … 0` style waits. The lock orders it against `redisFree`, so it never touches a
/// descriptor number that was closed and reused.
public final class RedisInterruptHandle: @unchecked Sendable {
    private let lock = NSLock()
    private var fd: Int32
    private var interrupted = false

    init(fd: Int32) { self.fd = fd }

    /// Aborts the current (or next) call on the connection; the connection becomes broken.
    public func interrupt() {
        lock.withLock {
            interrupted = true
            if fd >= 0 { _ = shutdown(fd, Int32(SHUT_RDWR)) }
        }
    }

    var wasInterrupted: Bool { lock.withLock { interrupted } }

    /// Runs `free` (which closes the descriptor) with interrupts excluded, then disables them.
    func invalidate(_ free: () -> Void) {
        lock.withLock {
            free()
            fd = -1
        }
    }
}
