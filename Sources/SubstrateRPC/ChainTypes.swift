/// `state_getRuntimeVersion`, the two numbers a signed extrinsic commits to.
public struct RuntimeVersion: Sendable, Hashable {
    public var specVersion: UInt32
    public var transactionVersion: UInt32

    public init(specVersion: UInt32, transactionVersion: UInt32) {
        self.specVersion = specVersion
        self.transactionVersion = transactionVersion
    }

    init(json: JSONValue) throws(RPCError) {
        guard let spec = json["specVersion"]?.uint64Value.flatMap(UInt32.init(exactly:)),
              let transaction = json["transactionVersion"]?.uint64Value.flatMap(UInt32.init(exactly:))
        else { throw .invalidResponse("runtime version without specVersion/transactionVersion: \(json)") }
        self.init(specVersion: spec, transactionVersion: transaction)
    }
}

/// The part of a block header the chain layer uses (`chain_getHeader`, head subscriptions).
public struct BlockHeader: Sendable, Hashable {
    public var number: UInt64
    public var parentHash: [UInt8]

    public init(number: UInt64, parentHash: [UInt8]) {
        self.number = number
        self.parentHash = parentHash
    }

    /// Substrate writes the number as a hex string ("0x1a2b"); a plain JSON number is accepted too.
    init(json: JSONValue) throws(RPCError) {
        let number: UInt64?
        switch json["number"] {
        case .string(let text)?: number = Self.hexNumber(text)
        case let value?: number = value.uint64Value
        case nil: number = nil
        }
        guard let number else { throw .invalidResponse("header without a valid number: \(json)") }
        guard let parent = json["parentHash"]?.stringValue.flatMap(Hex.decode) else {
            throw .invalidResponse("header without a valid parentHash: \(json)")
        }
        self.init(number: number, parentHash: parent)
    }

    static func hexNumber(_ text: String) -> UInt64? {
        var digits = Substring(text)
        if digits.hasPrefix("0x") || digits.hasPrefix("0X") { digits = digits.dropFirst(2) }
        guard !digits.isEmpty, digits.count <= 16 else { return nil }
        return UInt64(digits, radix: 16)
    }
}

/// One status of `author_submitAndWatchExtrinsic` (Substrate's `TransactionStatus`).
public enum TransactionStatus: Sendable, Hashable, CustomStringConvertible {
    case future
    case ready
    case broadcast([String])
    case inBlock([UInt8])
    case retracted([UInt8])
    case finalityTimeout([UInt8])
    case finalized([UInt8])
    case usurped([UInt8])
    case dropped
    case invalid

    /// The node sends nothing after a final status (it ends the subscription itself).
    public var isFinal: Bool {
        switch self {
        case .finalized, .finalityTimeout, .usurped, .dropped, .invalid: true
        case .future, .ready, .broadcast, .inBlock, .retracted: false
        }
    }

    /// As the node names it, block hashes in 0x hex (`inBlock(0x01e9…)`), for errors and logs.
    public var description: String {
        switch self {
        case .future: "future"
        case .ready: "ready"
        case .broadcast(let peers): "broadcast(\(peers.count) peers)"
        case .inBlock(let hash): "inBlock(\(Hex.encode(hash)))"
        case .retracted(let hash): "retracted(\(Hex.encode(hash)))"
        case .finalityTimeout(let hash): "finalityTimeout(\(Hex.encode(hash)))"
        case .finalized(let hash): "finalized(\(Hex.encode(hash)))"
        case .usurped(let hash): "usurped(\(Hex.encode(hash)))"
        case .dropped: "dropped"
        case .invalid: "invalid"
        }
    }

    init(json: JSONValue) throws(RPCError) {
        switch json {
        case .string("future"): self = .future
        case .string("ready"): self = .ready
        case .string("dropped"): self = .dropped
        case .string("invalid"): self = .invalid
        case .object(let object) where object.count == 1:
            guard let (key, value) = object.first else { throw .invalidResponse("transaction status \(json)") }
            if key == "broadcast" {
                guard let peers = value.arrayValue?.compactMap(\.stringValue) else {
                    throw .invalidResponse("transaction status \(json)")
                }
                self = .broadcast(peers)
                return
            }
            guard let hash = value.stringValue.flatMap(Hex.decode) else { throw .invalidResponse("transaction status \(json)") }
            switch key {
            case "inBlock": self = .inBlock(hash)
            case "retracted": self = .retracted(hash)
            case "finalityTimeout": self = .finalityTimeout(hash)
            case "finalized": self = .finalized(hash)
            case "usurped": self = .usurped(hash)
            default: throw .invalidResponse("unknown transaction status \(json)")
            }
        default:
            throw .invalidResponse("unknown transaction status \(json)")
        }
    }
}
