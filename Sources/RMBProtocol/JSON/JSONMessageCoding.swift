import Foundation

/// A Redis JSON message that could not be understood: the text says which key and why.
public struct JSONMessageError: Error, Equatable, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Shared parse entry point: JSONDecoder errors become one readable line.
public protocol RedisJSONMessage: Decodable, Sendable {
    /// Compact JSON with the reference's key order.
    func jsonBytes() -> [UInt8]
}

extension RedisJSONMessage {
    public static func parse(_ bytes: some Collection<UInt8>) throws(JSONMessageError) -> Self {
        do {
            return try JSONDecoder().decode(Self.self, from: Data(bytes))
        } catch let error as DecodingError {
            throw JSONMessageError(Self.describe(error))
        } catch let error as JSONMessageError {
            throw error
        } catch {
            throw JSONMessageError("invalid JSON: \(error)")
        }
    }

    private static func describe(_ error: DecodingError) -> String {
        func path(_ keys: [any CodingKey]) -> String {
            keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, _): return "missing required key '\(key.stringValue)'"
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            guard !context.codingPath.isEmpty else {
                let cause = context.underlyingError.map { ": \($0)" } ?? ""
                return "invalid JSON: expected an object of the documented shape (\(context.debugDescription)\(cause))"
            }
            return "key '\(path(context.codingPath))': \(context.debugDescription)"
        @unknown default: return "invalid JSON"
        }
    }
}

private enum Key: String, CodingKey {
    case ver, ref, cmd, exp, dat, tag, dst, ret, shm, now, src, err
}

extension KeyedDecodingContainer where K == Key {
    fileprivate func payload(_ key: Key) throws -> [UInt8] {
        let text = try decode(String.self, forKey: key)
        guard let bytes = Base64Payload.decode(text) else {
            throw DecodingError.dataCorruptedError(forKey: key, in: self, debugDescription: "invalid base64")
        }
        return bytes
    }
}

extension ClientRequest: RedisJSONMessage {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        version = try c.decode(UInt32.self, forKey: .ver)
        reference = try c.decodeIfPresent(String.self, forKey: .ref)
        command = try c.decode(String.self, forKey: .cmd)
        expiration = try c.decode(UInt64.self, forKey: .exp)
        data = try c.payload(.dat)
        tags = try c.decodeIfPresent(String.self, forKey: .tag)
        destinations = try c.decode([UInt32].self, forKey: .dst)
        replyTo = try c.decode(String.self, forKey: .ret)
        schema = try c.decodeIfPresent(String.self, forKey: .shm)
        now = try c.decode(UInt64.self, forKey: .now)
    }

    public func jsonBytes() -> [UInt8] {
        var w = JSONWriter()
        w.field("ver", version); w.field("ref", reference); w.field("cmd", command); w.field("exp", expiration)
        w.field("dat", Base64Payload.encode(data)); w.field("tag", tags); w.field("dst", destinations)
        w.field("ret", replyTo); w.field("shm", schema); w.field("now", now)
        return w.finish()
    }
}

extension ClientResponse: RedisJSONMessage {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        version = try c.decode(UInt32.self, forKey: .ver)
        reference = try c.decodeIfPresent(String.self, forKey: .ref)
        data = try c.payload(.dat)
        source = try c.decode(String.self, forKey: .src)
        schema = try c.decodeIfPresent(String.self, forKey: .shm)
        now = try c.decode(UInt64.self, forKey: .now)
        error = try c.decodeIfPresent(JSONError.self, forKey: .err)
    }

    public func jsonBytes() -> [UInt8] {
        var w = JSONWriter()
        w.field("ver", version); w.field("ref", reference); w.field("dat", Base64Payload.encode(data))
        w.field("src", source); w.field("shm", schema); w.field("now", now); w.field("err", error)
        return w.finish()
    }
}

extension ServiceRequest: RedisJSONMessage {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        version = try c.decode(UInt32.self, forKey: .ver)
        reference = try c.decode(String.self, forKey: .ref)
        source = try c.decode(String.self, forKey: .src)
        command = try c.decode(String.self, forKey: .cmd)
        expiration = try c.decode(UInt64.self, forKey: .exp)
        data = try c.payload(.dat)
        tags = try c.decodeIfPresent(String.self, forKey: .tag)
        replyTo = try c.decode(String.self, forKey: .ret)
        schema = try c.decodeIfPresent(String.self, forKey: .shm)
        now = try c.decode(UInt64.self, forKey: .now)
    }

    public func jsonBytes() -> [UInt8] {
        var w = JSONWriter()
        w.field("ver", version); w.field("ref", reference); w.field("src", source); w.field("cmd", command)
        w.field("exp", expiration); w.field("dat", Base64Payload.encode(data)); w.field("tag", tags)
        w.field("ret", replyTo); w.field("shm", schema); w.field("now", now)
        return w.finish()
    }
}

extension ServiceResponse: RedisJSONMessage {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        version = try c.decode(UInt32.self, forKey: .ver)
        reference = try c.decodeIfPresent(String.self, forKey: .ref)
        error = try c.decodeIfPresent(JSONError.self, forKey: .err)
        // `dat` is required, but ignored (so not validated) when `err` is set.
        data = error == nil ? try c.payload(.dat) : []
        if error != nil { _ = try c.decode(String.self, forKey: .dat) }
        destination = try c.decode(String.self, forKey: .dst)
        schema = try c.decodeIfPresent(String.self, forKey: .shm)
        now = try c.decode(UInt64.self, forKey: .now)
    }

    public func jsonBytes() -> [UInt8] {
        var w = JSONWriter()
        w.field("ver", version); w.field("ref", reference); w.field("dat", Base64Payload.encode(data))
        w.field("dst", destination); w.field("shm", schema); w.field("now", now); w.field("err", error)
        return w.finish()
    }
}
