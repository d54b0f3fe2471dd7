import RMBProtocol

/// Handlers by command, with groups (sub-routes) and middleware: what an ``RMBServer`` serves.
/// The Swift counterpart of the Go SDK's `rmb.NewRouter`.
///
/// ```swift
/// struct Version: Codable { var zos: String }
///
/// var router = RMBRouter()
/// router.use(RMBLoggingMiddleware())
/// router.group("zos.system") { system in
///     system.handle("version") { (_: Empty, request) in Version(zos: "3.0") }
/// }
/// router.handle("echo") { request in RMBOutgoingResponse(payload: request.payload) }
/// ```
public struct RMBRouter: Sendable {
    /// An empty JSON input or output (`{}`); an empty payload also decodes as it.
    public struct Empty: Codable, Sendable, Hashable {
        public init() {}
    }

    private let prefix: String
    private var middleware: [any RMBMiddleware] = []
    private(set) var handlers: [String: RMBHandler] = [:]

    public init() { prefix = "" }

    private init(prefix: String) { self.prefix = prefix }

    /// Commands this router answers.
    public var commands: [String] { handlers.keys.sorted() }

    /// Adds middleware around every handler of this router and its groups.
    public mutating func use(_ middleware: some RMBMiddleware) {
        self.middleware.append(middleware)
    }

    /// Answers `command` (prefixed with the group's names) with raw bytes.
    public mutating func handle(_ command: String, _ handler: @escaping RMBHandler) {
        handlers[qualified(command)] = handler
    }

    /// Answers `command` with a JSON-decoded input and a JSON-encoded output. An empty payload
    /// decodes as `{}` (so ``Empty`` takes requests without input). The types are used from
    /// whatever task serves the request, so their conformances must not be actor-isolated
    /// (`SendableMetatype`; every plain type qualifies).
    public mutating func handle<Input: Decodable & SendableMetatype, Output: Encodable & SendableMetatype>(
        _ command: String, _ handler: @escaping @Sendable (Input, RMBIncomingRequest) async throws -> Output
    ) {
        handle(command) { request in
            var decodable = request
            if decodable.payload.isEmpty { decodable.payload = Array("{}".utf8) }
            let input: Input = try decodable.decode()
            return try RMBOutgoingResponse(json: try await handler(input, request))
        }
    }

    /// Handlers under `name.` (e.g. `group("zos.system") { $0.handle("version") … }` serves
    /// `zos.system.version`), with the group's own middleware inside this router's.
    public mutating func group(_ name: String, _ build: (inout RMBRouter) -> Void) {
        var group = RMBRouter(prefix: qualified(name))
        build(&group)
        for (command, handler) in group.handlers {
            handlers[command] = group.wrapped(handler)
        }
    }

    /// The handler of `command` wrapped in this router's middleware; nil when none handles it.
    func responder(for command: String) -> RMBHandler? {
        handlers[command].map(wrapped)
    }

    private func wrapped(_ handler: @escaping RMBHandler) -> RMBHandler {
        middleware.reversed().reduce(handler) { next, middleware in
            { request in try await middleware.respond(to: request, next: next) }
        }
    }

    private func qualified(_ name: String) -> String { prefix.isEmpty ? name : prefix + "." + name }

    /// Runs the handler of `incoming` (inside the middleware) and says what to answer, as
    /// peer.md §4.4 shapes it: the handler's payload, or an error with the code of a thrown
    /// ``RMBServiceError`` (255 for any other error, 404 when no handler serves the command).
    package func answer(_ incoming: ServiceRequest) async -> ServiceResponse {
        var response = ServiceResponse(reference: incoming.reference, data: [], destination: incoming.source, schema: incoming.schema)
        guard let handler = responder(for: incoming.command) else {
            response.error = JSONError(code: 404, message: "no handler for \(incoming.command)")
            return response
        }
        do {
            let output = try await handler(RMBIncomingRequest(incoming))
            response.data = output.payload
            response.schema = output.schema
        } catch let error as RMBServiceError {
            response.error = JSONError(code: error.code, message: error.message)
        } catch {
            response.error = JSONError(code: RMBServiceError.handlerFailed, message: String(describing: error))
        }
        return response
    }
}
