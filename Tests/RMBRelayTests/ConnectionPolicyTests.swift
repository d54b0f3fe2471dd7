import Foundation
import NIOCore
import ProcessLifecycle
import RMBTestSupport
import Synchronization
import Testing
@testable import RMBRelay

/// The decisions behind the relay's connection limits, driven without sockets or real time.
extension RelayTests {
@Suite struct ConnectionPolicyTests {
    @Test func livenessPingsOnceThenCloses() {
        let second: UInt64 = 1_000_000_000
        let heard: UInt64 = 100 * second
        #expect(SessionLiveness.verdict(heard: heard, pinged: 0, now: heard + second / 2, interval: second) == .alive)
        #expect(SessionLiveness.verdict(heard: heard, pinged: 0, now: heard + second, interval: second) == .ping)
        // pinged after it was last heard: no second ping, wait for the answer
        #expect(SessionLiveness.verdict(heard: heard, pinged: heard + second, now: heard + 3 * second / 2, interval: second) == .alive)
        #expect(SessionLiveness.verdict(heard: heard, pinged: heard + second, now: heard + 2 * second, interval: second) == .close)
        // an answer (heard again) starts over
        #expect(SessionLiveness.verdict(heard: heard + 2 * second, pinged: heard + second, now: heard + 2 * second, interval: second) == .alive)
        // a stamp from a racing reader slightly ahead of `now` is not silence
        #expect(SessionLiveness.verdict(heard: heard + 5, pinged: 0, now: heard, interval: second) == .alive)
    }

    @Test func admissionCapsGloballyAndPerAddress() throws {
        var limits = ConnectionLimits()
        limits.maxConnections = 3
        limits.maxConnectionsPerAddress = 2
        let fileLimit = Mutex(100_000)
        let admission = ConnectionAdmission(limits: limits, fileLimit: { fileLimit.withLock { $0 } })
        let one = ConnectionAdmission.AddressKey(try SocketAddress(ipAddress: "192.0.2.1", port: 1))
        let two = ConnectionAdmission.AddressKey(try SocketAddress(ipAddress: "192.0.2.2", port: 1))
        #expect(admission.admit(one) == nil)
        #expect(admission.admit(one) == nil)
        #expect(admission.admit(one) == .addressFull)
        #expect(admission.admit(two) == nil)
        #expect(admission.admit(two) == .relayFull)
        admission.release(one)
        #expect(admission.open == 2)
        #expect(admission.admit(two) == nil)
        // the file limit lowered under a running relay lowers the cap at once
        var roomy = ConnectionLimits()
        roomy.maxConnections = nil
        let lowered = ConnectionAdmission(limits: roomy, fileLimit: { fileLimit.withLock { $0 } })
        #expect(lowered.admit(.other) == nil)
        fileLimit.withLock { $0 = ConnectionLimits.reservedDescriptors + 16 }
        for _ in 1..<16 { #expect(lowered.admit(.other) == nil) }
        #expect(lowered.admit(.other) == .relayFull)
    }

    @Test func addressKeysGroupAnIPv6SlashSixtyFourAndMappedIPv4() throws {
        let a = ConnectionAdmission.AddressKey(try SocketAddress(ipAddress: "2001:db8:1:2::1", port: 1))
        let b = ConnectionAdmission.AddressKey(try SocketAddress(ipAddress: "2001:db8:1:2:ffff::9", port: 2))
        let c = ConnectionAdmission.AddressKey(try SocketAddress(ipAddress: "2001:db8:1:3::1", port: 1))
        #expect(a == b)
        #expect(a != c)
        let mapped = ConnectionAdmission.AddressKey(try SocketAddress(ipAddress: "::ffff:192.0.2.1", port: 1))
        #expect(mapped == ConnectionAdmission.AddressKey(try SocketAddress(ipAddress: "192.0.2.1", port: 9)))
    }

    @Test func theGlobalCapLeavesRoomForTheRelaysOwnFiles() {
        var limits = ConnectionLimits()
        #expect(limits.effectiveMaxConnections(fileLimit: 1024) == 1024 - ConnectionLimits.reservedDescriptors)
        limits.maxConnections = 100
        #expect(limits.effectiveMaxConnections(fileLimit: 1024) == 100)
        limits.maxConnections = 100_000
        #expect(limits.effectiveMaxConnections(fileLimit: 1024) == 1024 - ConnectionLimits.reservedDescriptors)
    }

    @Test func logThrottleWritesOneLinePerIntervalWithTheCount() {
        let clock = ManualClock()
        let throttle = LogThrottle(interval: .seconds(10), stopwatch: Stopwatch(clock))
        #expect(throttle.admit("bad-frame") == 1)
        for _ in 0..<99 { #expect(throttle.admit("bad-frame") == nil) }
        #expect(throttle.admit("other") == 1, "kinds are throttled separately")
        clock.advance(by: .seconds(10))
        #expect(throttle.admit("bad-frame") == 100, "the 99 left out and this one")
        #expect(throttle.admit("bad-frame") == nil)
    }
}
}
