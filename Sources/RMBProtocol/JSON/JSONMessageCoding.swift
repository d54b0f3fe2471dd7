import Foundation

/// A Redis JSON message that could not be understood: the text says which key and why.
public struct JSONMessageError: Error, Equatable, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A message of the Redis JSON API: parsed by ``JSONReader`` (strictly, with errors that name
/// the key), written by ``JSONWriter`` in the reference's key order.
public protocol RedisJSONMessage: Sendable {
    /// Reads the message from the keys of its JSON object; extra keys are ignored.
    init(fields: JSONFields) throws(JSONMessageError)
    /// Compact JSON with the reference's key order.
    func jsonBytes() -> [UInt8]
}

extension RedisJSONMessage {
    public static func parse(_ bytes: some Collection<UInt8>) throws(JSONMessageError) -> Self {
        guard case .object(let members) = try JSONReader.parse(bytes) else {
            throw JSONMessageError("invalid JSON: expected an object of the documented shape")
        }
        return try Self(fields: JSONFields(members))
    }
}

/// The keys of one JSON object with typed, key-naming accessors: a missing required key, `null`
/// where a value is required, or a value of the wrong type each say which key and why.
public struct JSONFields: Sendable {
    private let members: [String: JSONValue]

    init(_ members: [String: JSONValue]) { self.members = members }

    private func required(_ key: String) throws(JSONMessageError) -> JSONValue {
        guard let value = members[key] else { throw JSONMessageError("missing required key '\(key)'") }
        return value
    }

    private func mismatch(_ key: String, expected: String, found value: JSONValue) -> JSONMessageError {
        JSONMessageError("invalid JSON at key '\(key)': expected \(expected), found \(value.kind)")
    }

    func string(_ key: String) throws(JSONMessageError) -> String {
        let value = try required(key)
        guard case .string(let text) = value else { throw mismatch(key, expected: "a string", found: value) }
        return text
    }

    /// Missing and `null` both mean absent.
    func optionalString(_ key: String) throws(JSONMessageError) -> String? {
        switch members[key] {
        case nil, .null?: return nil
        case .string(let text)?: return text
        case let value?: throw mismatch(key, expected: "a string or null", found: value)
        }
    }

    func integer<T: FixedWidthInteger & UnsignedInteger>(_ key: String, as type: T.Type = T.self) throws(JSONMessageError) -> T {
        try Self.integer(try required(key), key: key)
    }

    func integers<T: FixedWidthInteger & UnsignedInteger>(_ key: String, as type: T.Type = T.self) throws(JSONMessageError) -> [T] {
        let value = try required(key)
        guard case .array(let elements) = value else { throw mismatch(key, expected: "an array of integers", found: value) }
        var result: [T] = []
        result.reserveCapacity(elements.count)
        for element in elements { result.append(try Self.integer(element, key: key)) }
        return result
    }

    /// A `dat` field: standard base64, padded or not.
    func payload(_ key: String) throws(JSONMessageError) -> [UInt8] {
        guard let bytes = Base64Payload.decode(try string(key)) else { throw JSONMessageError("key '\(key)': invalid base64") }
        return bytes
    }

    /// An `err` object (`{"code": …, "message": …}`) or absent/`null`.
    func optionalError(_ key: String) throws(JSONMessageError) -> JSONError? {
        switch members[key] {
        case nil, .null?: return nil
        case .object(let inner)?:
            let fields = JSONFields(inner)
            do {
                return JSONError(code: try fields.integer("code"), message: try fields.string("message"))
            } catch {
                throw JSONMessageError("key '\(key)': \(error.description)")
            }
        case let value?: throw mismatch(key, expected: "an object or null", found: value)
        }
    }

    private static func integer<T: FixedWidthInteger & UnsignedInteger>(_ value: JSONValue, key: String) throws(JSONMessageError) -> T {
        guard case .number(let text) = value else {
            throw JSONMessageError("invalid JSON at key '\(key)': expected an integer, found \(value.kind)")
        }
        guard let integer = T(text) else {
            throw JSONMessageError("invalid JSON at key '\(key)': \(text) is not an integer in 0...\(T.max)")
        }
        return integer
    }
}

extension ClientRequest: RedisJSONMessage {
    public init(fields c: JSONFields) throws(JSONMessageError) {
        version = try c.integer("ver")
        reference = try c.optionalString("ref")
        command = try c.string("cmd")
        expiration = try c.integer("exp")
        data = try c.payload("dat")
        tags = try c.optionalString("tag")
        destinations = try c.integers("dst")
        replyTo = try c.string("ret")
        schema = try c.optionalString("shm")
        now = try c.integer("now")
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
    public init(fields c: JSONFields) throws(JSONMessageError) {
        version = try c.integer("ver")
        reference = try c.optionalString("ref")
        data = try c.payload("dat")
        source = try c.string("src")
        schema = try c.optionalString("shm")
        now = try c.integer("now")
        error = try c.optionalError("err")
    }

    public func jsonBytes() -> [UInt8] {
        var w = JSONWriter()
        w.field("ver", version); w.field("ref", reference); w.field("dat", Base64Payload.encode(data))
        w.field("src", source); w.field("shm", schema); w.field("now", now); w.field("err", error)
        return w.finish()
    }
}

extension ServiceRequest: RedisJSONMessage {
    public init(fields c: JSONFields) throws(JSONMessageError) {
        version = try c.integer("ver")
        reference = try c.string("ref")
        source = try c.string("src")
        command = try c.string("cmd")
        expiration = try c.integer("exp")
        data = try c.payload("dat")
        tags = try c.optionalString("tag")
        replyTo = try c.string("ret")
        schema = try c.optionalString("shm")
        now = try c.integer("now")
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
    public init(fields c: JSONFields) throws(JSONMessageError) {
        version = try c.integer("ver")
        reference = try c.optionalString("ref")
        error = try c.optionalError("err")
        // `dat` is required, but ignored (so not validated) when `err` is set.
        data = error == nil ? try c.payload("dat") : []
        if error != nil { _ = try c.string("dat") }
        destination = try c.string("dst")
        schema = try c.optionalString("shm")
        now = try c.integer("now")
    }

    public func jsonBytes() -> [UInt8] {
        var w = JSONWriter()
        w.field("ver", version); w.field("ref", reference); w.field("dat", Base64Payload.encode(data))
        w.field("dst", destination); w.field("shm", schema); w.field("now", now); w.field("err", error)
        return w.finish()
    }
}
