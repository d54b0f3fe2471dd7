import Logging

/// Runs around the handlers of a router (or of a group): sees each request before its handler
/// and the response or error after it. Middleware added first runs outermost.
///
/// ```swift
/// struct Timing: RMBMiddleware {
///     func respond(to request: RMBIncomingRequest, next: RMBHandler) async throws -> RMBOutgoingResponse {
///         let start = ContinuousClock.now
///         defer { print(request.command, ContinuousClock.now - start) }
///         return try await next(request)
///     }
/// }
/// ```
public protocol RMBMiddleware: Sendable {
    func respond(to request: RMBIncomingRequest, next: RMBHandler) async throws -> RMBOutgoingResponse
}

/// Logs every request with its source, outcome and duration.
public struct RMBLoggingMiddleware: RMBMiddleware {
    public var logger: Logger
    public var level: Logger.Level

    public init(logger: Logger = Logger(label: "rmb.router"), level: Logger.Level = .info) {
        self.logger = logger
        self.level = level
    }

    public func respond(to request: RMBIncomingRequest, next: RMBHandler) async throws -> RMBOutgoingResponse {
        let start = ContinuousClock.now
        do {
            let response = try await next(request)
            logger.log(level: level, "handled", metadata: ["cmd": "\(request.command)", "src": "\(request.source)",
                                                           "duration": "\(ContinuousClock.now - start)"])
            return response
        } catch {
            logger.log(level: level, "failed", metadata: ["cmd": "\(request.command)", "src": "\(request.source)",
                                                          "duration": "\(ContinuousClock.now - start)", "error": "\(error)"])
            throw error
        }
    }
}

/// Lets only the listed twins through; anyone else gets error 403.
public struct RMBAllowTwinsMiddleware: RMBMiddleware {
    public var twins: Set<UInt32>

    public init(_ twins: Set<UInt32>) { self.twins = twins }

    public func respond(to request: RMBIncomingRequest, next: RMBHandler) async throws -> RMBOutgoingResponse {
        guard twins.contains(request.twin) else { throw RMBServiceError.forbidden("twin \(request.source) may not call \(request.command)") }
        return try await next(request)
    }
}
