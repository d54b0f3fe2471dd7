import NIOCore
import Synchronization

/// Counts open connections, globally and per client address, and refuses new ones above the
/// caps of ``ConnectionLimits``. Every admitted connection is released exactly once, when its
/// channel closes.
///
/// The global cap follows the open file limit as it is *now* (read at every accept: an
/// operator may lower it with `prlimit` on a running relay): the process must never run out of
/// descriptors, because libdispatch's worker-pool monitor opens `/proc/self/task/…/stat` files
/// and traps (SIGILL in `_dispatch_workq_monitor_pools`) when it cannot — the relay crash seen
/// with ~20,000 idle sockets.
final class ConnectionAdmission: Sendable {
    enum Refusal: String, Sendable {
        case relayFull = "max_connections"
        case addressFull = "max_connections_per_address"
    }

    private struct State {
        var open = 0
        var perAddress: [AddressKey: Int] = [:]
    }

    /// An IPv4 address, or the /64 prefix of an IPv6 one (one host usually owns a whole /64).
    enum AddressKey: Hashable, Sendable {
        case v4(UInt32)
        case v6(UInt64)
        case other

        init(_ address: SocketAddress?) {
            switch address {
            case .v4(let v4)?:
                self = .v4(v4.address.sin_addr.s_addr)
            case .v6(let v6)?:
                var prefix: UInt64 = 0
                withUnsafeBytes(of: v6.address.sin6_addr) { bytes in
                    for byte in bytes.prefix(8) { prefix = prefix << 8 | UInt64(byte) }
                }
                // An IPv4-mapped address (::ffff:a.b.c.d, a dual-stack listener) counts as its IPv4.
                let mapped = withUnsafeBytes(of: v6.address.sin6_addr) { bytes -> UInt32? in
                    guard bytes.prefix(10).allSatisfy({ $0 == 0 }), bytes[10] == 0xff, bytes[11] == 0xff else { return nil }
                    return bytes[12...15].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }
                }
                self = mapped.map { .v4($0) } ?? .v6(prefix)
            default:
                self = .other
            }
        }
    }

    let limits: ConnectionLimits
    private let fileLimit: @Sendable () -> Int
    private let state = Mutex(State())

    init(limits: ConnectionLimits, fileLimit: @escaping @Sendable () -> Int = openFileLimit) {
        self.limits = limits
        self.fileLimit = fileLimit
    }

    /// Admits a connection from `key`, or says why not.
    func admit(_ key: AddressKey) -> Refusal? {
        let maxConnections = limits.effectiveMaxConnections(fileLimit: fileLimit())
        let maxPerAddress = limits.maxConnectionsPerAddress
        return state.withLock { state in
            if state.open >= maxConnections { return .relayFull }
            let fromAddress = state.perAddress[key, default: 0]
            if key != .other, fromAddress >= maxPerAddress { return .addressFull }
            state.open += 1
            state.perAddress[key] = fromAddress + 1
            return nil
        }
    }

    func release(_ key: AddressKey) {
        state.withLock { state in
            state.open -= 1
            let left = state.perAddress[key, default: 1] - 1
            state.perAddress[key] = left > 0 ? left : nil
        }
    }

    var open: Int { state.withLock { $0.open } }
}
