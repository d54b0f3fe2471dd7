import Foundation

/// JSON payloads and ttls as every caller writes them.
package enum RMBJSON {
    package static func encode<Input: Encodable>(_ input: Input) throws(RMBCallError) -> [UInt8] {
        do { return Array(try JSONEncoder().encode(input)) } catch { throw .encoding(String(describing: error)) }
    }

    /// A request's ttl for a call's timeout: whole seconds, rounded up, at least 1.
    package static func ttl(of timeout: Duration) -> UInt64 {
        UInt64(max(1, timeout.components.seconds + (timeout.components.attoseconds > 0 ? 1 : 0)))
    }
}
