import Logging
import Synchronization

/// A log handler that keeps every message, so a test can wait for what the code under test
/// says it did (a retry, a give-up) when nothing else shows it.
public final class CapturedLogs: Sendable {
    private let messages = Mutex<[String]>([])

    public init() {}

    public var all: [String] { messages.withLock { $0 } }

    public func contains(_ text: String) -> Bool { messages.withLock { $0.contains { $0.contains(text) } } }

    public func logger(label: String = "test") -> Logger {
        Logger(label: label) { _ in Handler(logs: self) }
    }

    fileprivate func append(_ message: String) { messages.withLock { $0.append(message) } }

    private struct Handler: LogHandler {
        let logs: CapturedLogs
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let fields = (event.metadata ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            logs.append("\(event.level) \(event.message) \(fields)")
        }
    }
}
