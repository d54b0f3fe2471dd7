import ArgumentParser
import Foundation
import RMBCrypto
import RMBIdentity
import RMBProtocol

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Print performance figures (build with -c release for meaningful numbers).",
        subcommands: [Crypto.self, StoreBench.self, PeerBench.self, RelayBench.self]
    )

    struct Crypto: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "µs per operation: signatures, ECDH, AES-GCM, envelope build+sign and parse+verify.")
        @Option(help: "Iterations per operation.") var iterations: Int = 2000

        func run() throws {
            try reportingBadInput {
                guard iterations > 0 else { throw InputError("--iterations must be positive") }
                try CryptoBenchmark(iterations: iterations).run()
            }
        }
    }
}

/// The crypto benchmark: each operation runs `iterations` times after a short warm-up and
/// reports the mean wall-clock time per operation.
struct CryptoBenchmark {
    let iterations: Int

    func run() throws {
        let dev = try MiniSecret(parsing: "bottom drive obey lake curtain smoke basket hold race lonely fit walk")
        let alpha = try MiniSecret(parsing: "bridge scale parent tribe elegant void army spend brief trigger burst chief")
        let sr = try Identity(secret: dev, keyType: .sr25519)
        let ed = try Identity(secret: dev, keyType: .ed25519)
        let peer = try Identity(secret: alpha, keyType: .sr25519)
        let digest = OpenSSL.md5(Array("benchmark".utf8))
        let srSignature = try sr.sign(digest)
        let edSignature = try ed.sign(digest)
        let kib = [UInt8](repeating: 0x61, count: 1024)
        let cipher = try E2ECipher(ownKey: sr.e2eKey, peerPublicKey: peer.e2ePublicKey)
        let sealed = try cipher.encrypt(kib)

        print("rmb bench crypto: \(iterations) iterations per operation")
        print("operation".padding(toLength: 34, withPad: " ", startingAt: 0) + "   µs/op")
        try measure("ed25519 sign") { _ = try ed.sign(digest) }
        try measure("ed25519 verify") { guard SignatureVerifier.verify(edSignature, message: digest, account: ed.account) else { throw InputError("verify failed") } }
        try measure("sr25519 sign") { _ = try sr.sign(digest) }
        try measure("sr25519 verify") { guard SignatureVerifier.verify(srSignature, message: digest, account: sr.account) else { throw InputError("verify failed") } }
        for size in [4, 16, 64] {
            let checks = try (0..<size).map { index in
                let message = OpenSSL.md5(Array("benchmark \(index)".utf8))
                return SignatureVerifier.Check(signature: try sr.sign(message), message: message, account: sr.account)
            }
            try measure("sr25519 verify, batch of \(size)", operations: size) {
                guard SignatureVerifier.verify(checks).allSatisfy({ $0 }) else { throw InputError("batch verify failed") }
            }
        }
        try measure("sr25519 verify (libsodium path)") { guard Sr25519.verifyWithLibsodium(signature: srSignature.signature, message: digest, publicKey: sr.account.bytes) else { throw InputError("verify failed") } }
        try measure("ECDH shared key (secp256k1+sha256)") { _ = try E2ECipher(ownKey: sr.e2eKey, peerPublicKey: peer.e2ePublicKey) }
        try measure("AES-256-GCM encrypt 1 KiB") { _ = try cipher.encrypt(kib) }
        try measure("AES-256-GCM decrypt 1 KiB") { _ = try cipher.decrypt(sealed) }
        try measure("envelope challenge+md5 (1 KiB)") { _ = makeEnvelope(payload: kib).digest }
        for identity in [sr, ed] {
            var signed = makeEnvelope(payload: kib)
            try signed.sign(with: identity)
            let wire = try signed.wireBytes()
            try measure("envelope build+sign \(identity.keyType)") {
                var e = makeEnvelope(payload: kib)
                e.stamp(now: unixNow())
                try e.sign(with: identity)
                _ = try e.wireBytes()
            }
            try measure("envelope parse+verify \(identity.keyType)") {
                let e = try RMBEnvelope(wire: wire)
                try e.verifySignature(account: identity.account)
            }
        }
    }

    private func makeEnvelope(payload: [UInt8]) -> RMBEnvelope {
        var e = RMBEnvelope()
        e.uid = "6f1c2d3e-4b5a-4c6d-8e7f-0a1b2c3d4e5f"
        e.timestamp = 1_700_000_000
        e.expiration = 300
        e.source = RMBAddress(twin: 7)
        e.destination = RMBAddress(twin: 41)
        e.request = RMBRequest.with { $0.command = "zos.system.version" }
        e.schema = "application/json"
        e.plain = Data(payload)
        return e
    }

    /// Prints the mean time per operation, for a `body` that performs `operations` of them.
    private func measure(_ name: String, operations: Int = 1, _ body: () throws -> Void) throws {
        for _ in 0..<max(10, iterations / 20) { try body() }
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<iterations { try body() }
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1000.0 / Double(iterations * operations)
        print(name.padding(toLength: 34, withPad: " ", startingAt: 0) + String(format: "%8.2f", elapsed))
    }
}
