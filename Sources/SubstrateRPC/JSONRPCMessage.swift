/// One frame from the node, sorted: an answer to one of our requests, a subscription
/// notification, or something to ignore. Sorting never fails: whatever a node sends that is not
/// one of the first two is `ignored` with a reason for the debug log.
enum InboundMessage: Equatable {
    case response(id: UInt64, outcome: Result<JSONValue, RPCError>)
    case notification(subscription: String, outcome: Result<JSONValue, RPCError>)
    case ignored(String)

    init(text bytes: some Collection<UInt8>) {
        guard let value = JSONValue(parsing: bytes) else {
            self = .ignored("not JSON (\(bytes.count) bytes)")
            return
        }
        guard let object = value.objectValue else {
            self = .ignored("not a JSON object")
            return
        }
        if let rawID = object["id"], !rawID.isNull {
            // Our ids are small integers; a node may echo them as numbers or as strings.
            guard let id = rawID.uint64Value ?? rawID.stringValue.flatMap({ UInt64($0) }) else {
                self = .ignored("answer with an id we never use: \(rawID)")
                return
            }
            self = .response(id: id, outcome: Self.outcome(object))
            return
        }
        if let params = object["params"]?.objectValue, let subscription = params["subscription"],
           let key = Self.subscriptionKey(subscription) {
            self = .notification(subscription: key, outcome: Self.outcome(params))
            return
        }
        if let error = object["error"] {
            self = .ignored("error without id: \(error)")
            return
        }
        self = .ignored("neither an answer nor a notification")
    }

    /// `result`, or the `error` object as `.server`; a message with neither is invalid.
    private static func outcome(_ object: [String: JSONValue]) -> Result<JSONValue, RPCError> {
        if let error = object["error"], !error.isNull {
            return .failure(serverError(error))
        }
        if let result = object["result"] {
            return .success(result)
        }
        return .failure(.invalidResponse("neither result nor error"))
    }

    static func serverError(_ error: JSONValue) -> RPCError {
        let code = error["code"]?.int64Value.map { Int(clamping: $0) } ?? 0
        var message = error["message"]?.stringValue ?? error.jsonText
        if let data = error["data"], !data.isNull {
            message += " (" + (data.stringValue ?? data.jsonText) + ")"
        }
        return .server(code: code, message: message)
    }

    /// Subscription ids are strings in Substrate, numbers in some JSON-RPC servers: both become a
    /// string key so the answer's id and the notifications' ids compare equal.
    static func subscriptionKey(_ value: JSONValue) -> String? {
        switch value {
        case .string(let text): text
        case .number: value.uint64Value.map(String.init) ?? value.jsonText
        default: nil
        }
    }
}

/// A request as written on the wire.
struct OutboundRequest {
    let id: UInt64
    let method: String
    let params: [JSONValue]

    var text: String {
        JSONValue.object([
            "jsonrpc": "2.0",
            "id": .number(Double(id)),
            "method": .string(method),
            "params": .array(params),
        ]).jsonText
    }
}
