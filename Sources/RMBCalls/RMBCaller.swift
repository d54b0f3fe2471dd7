/// Calls services on other twins, whatever carries the calls: ``RMBClient`` (through a running
/// `rmb-peer`'s Redis) or `RMBDirectPeer` (the bus in process). Code written against
/// `RMBCaller` runs on either.
///
/// ```swift
/// struct Version: Decodable { var zinit: String; var zos: String }
///
/// func versions(of twins: [UInt32], via caller: some RMBCaller) async -> [UInt32: Result<Version, RMBCallError>] {
///     await caller.call(twins: twins, "zos.system.version", as: Version.self, timeout: .seconds(30))
/// }
/// ```
public protocol RMBCaller: Sendable {
    /// Sends `command` with `payload` to every twin (one request each, so every answer and
    /// every error is attributed) and waits for each outcome, at most `timeout` (nil: the
    /// caller's default). Cancelling the calling task ends every wait with
    /// ``RMBCallError/cancelled``.
    func callEach(_ twins: [UInt32], _ command: String, payload: [UInt8], schema: String?,
                  timeout: Duration?) async -> [(twin: UInt32, outcome: Result<RMBReply, RMBCallError>)]
}

extension RMBCaller {
    /// Calls `command` on `twin` with `input` encoded as JSON and decodes the reply's payload.
    public func call<Input: Encodable, Output: Decodable>(
        twin: UInt32, _ command: String, _ input: Input, as type: Output.Type = Output.self, timeout: Duration? = nil
    ) async throws(RMBCallError) -> Output {
        try await call(twin: twin, command, payload: try RMBJSON.encode(input), timeout: timeout).decode(Output.self)
    }

    /// Calls `command` on `twin` with no input (an empty payload) and decodes the reply.
    public func call<Output: Decodable>(
        twin: UInt32, _ command: String, as type: Output.Type = Output.self, timeout: Duration? = nil
    ) async throws(RMBCallError) -> Output {
        try await call(twin: twin, command, payload: [], timeout: timeout).decode(Output.self)
    }

    /// Calls `command` on `twin` with raw payload bytes; the reply as it came.
    public func call(twin: UInt32, _ command: String, payload: [UInt8], schema: String? = "application/json",
                     timeout: Duration? = nil) async throws(RMBCallError) -> RMBReply {
        let results = await callEach([twin], command, payload: payload, schema: schema, timeout: timeout)
        guard let result = results.first?.outcome else { throw .transport("no result") }
        return try result.get()
    }

    /// Calls `command` on every twin at once; each twin's decoded reply or error.
    public func call<Input: Encodable, Output: Decodable>(
        twins: [UInt32], _ command: String, _ input: Input, as type: Output.Type = Output.self, timeout: Duration? = nil
    ) async throws(RMBCallError) -> [UInt32: Result<Output, RMBCallError>] {
        let payload = try RMBJSON.encode(input)
        return Self.decodeEach(await callEach(twins, command, payload: payload, schema: "application/json", timeout: timeout))
    }

    /// Calls `command` on every twin with no input; each twin's decoded reply or error.
    public func call<Output: Decodable>(
        twins: [UInt32], _ command: String, as type: Output.Type = Output.self, timeout: Duration? = nil
    ) async -> [UInt32: Result<Output, RMBCallError>] {
        Self.decodeEach(await callEach(twins, command, payload: [], schema: "application/json", timeout: timeout))
    }

    private static func decodeEach<Output: Decodable>(
        _ results: [(twin: UInt32, outcome: Result<RMBReply, RMBCallError>)]
    ) -> [UInt32: Result<Output, RMBCallError>] {
        var decoded: [UInt32: Result<Output, RMBCallError>] = [:]
        for (twin, result) in results {
            decoded[twin] = result.flatMap { reply in Result { () throws(RMBCallError) in try reply.decode(Output.self) } }
        }
        return decoded
    }
}
