import CHiredis

/// hiredis' RESP parser, the only part of hiredis still in use (NIO owns the socket and
/// `RESPEncoder` writes commands). Bytes go in as they arrive; complete replies come out in order.
///
/// Not thread-safe: owned by one channel's `RESPDecoder` on its event loop. After a protocol
/// error the reader is unusable (hiredis keeps its error), so the connection must be closed.
final class HiredisReader {
    private let reader: UnsafeMutablePointer<redisReader>

    init() throws(RedisError) {
        guard let reader = redisReaderCreate() else { throw .io("cannot allocate hiredis reader") }
        self.reader = reader
    }

    deinit { redisReaderFree(reader) }

    /// Appends received bytes (copied into hiredis' buffer).
    func feed(_ bytes: UnsafeRawBufferPointer) throws(RedisError) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        if redisReaderFeed(reader, base.assumingMemoryBound(to: CChar.self), bytes.count) != REDIS_OK { throw failure() }
    }

    /// The next complete reply, or `nil` until more bytes arrive.
    func next() throws(RedisError) -> RedisReply? {
        var raw: UnsafeMutableRawPointer?
        guard redisReaderGetReply(reader, &raw) == REDIS_OK else { throw failure() }
        guard let raw else { return nil }
        defer { freeReplyObject(raw) }
        return RedisReply(raw.assumingMemoryBound(to: redisReply.self))
    }

    private func failure() -> RedisError {
        let text = withUnsafeBytes(of: reader.pointee.errstr) { buffer in
            String(decoding: buffer.prefix { $0 != 0 }, as: UTF8.self)
        }
        return .protocolError(text.isEmpty ? "unreadable reply" : text)
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
