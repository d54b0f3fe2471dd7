import Foundation
import Synchronization

/// Request uids in the layout of a version-7 UUID (RFC 9562): 48 bits of Unix milliseconds,
/// then random bits, printed like any UUID. Receivers see an opaque uid as before; the store
/// gains locality: uids key the backlog, the outbox's uid index and the awaiting requests here,
/// and the inbox at the responder, and uids that grow with time land on the same few B-tree
/// pages, so a batch commit writes a handful of pages instead of one random page per request.
package enum TimeOrderedUID {
    /// The last (milliseconds, sequence) handed out, so uids made within one millisecond still
    /// sort in the order they were made.
    private static let last = Mutex((millis: UInt64(0), sequence: UInt16(0)))

    package static func make(now: Date = Date()) -> String {
        let wall = UInt64(max(0, now.timeIntervalSince1970 * 1000))
        let (millis, sequence) = last.withLock { state -> (UInt64, UInt16) in
            if wall > state.millis {
                state = (wall, 0)
            } else if state.sequence < 0x0fff {
                state.sequence += 1
            } else {
                // 4096 uids within one millisecond: borrow the next one.
                state = (state.millis + 1, 0)
            }
            return (state.millis, state.sequence)
        }
        var bytes = [UInt8](repeating: 0, count: 16)
        for i in 0..<6 { bytes[i] = UInt8(truncatingIfNeeded: millis >> (40 - 8 * UInt64(i))) }
        bytes[6] = 0x70 | UInt8(sequence >> 8)
        bytes[7] = UInt8(truncatingIfNeeded: sequence)
        var random = SystemRandomNumberGenerator()
        let tail = random.next() as UInt64
        for i in 8..<16 { bytes[i] = UInt8(truncatingIfNeeded: tail >> (8 * UInt64(15 - i))) }
        bytes[8] = 0x80 | (bytes[8] & 0x3f)
        let hex = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(36)
        for (i, byte) in bytes.enumerated() {
            if i == 4 || i == 6 || i == 8 || i == 10 { text.append(UInt8(ascii: "-")) }
            text.append(hex[Int(byte >> 4)])
            text.append(hex[Int(byte & 0x0f)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
