import ArgumentParser
import Foundation
import RMBIdentity
import RMBProtocol

struct JWTCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jwt",
        abstract: "Inspect relay authentication tokens.",
        subcommands: [Verify.self]
    )

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the claims and check the token: exit 0 when valid, 1 when not, 2 when malformed.")
        @Option(help: "The token (the whole query string of the relay URL).") var token: String
        @Option(help: "Account of twin `sub`: 64 hex digits or SS58.") var account: String
        @Flag(name: .customLong("ignore-expiry"), help: "Do not fail on an expired token.") var ignoreExpiry = false

        func run() throws {
            var parsed: RelayToken?
            var signer: AccountID?
            try reportingBadInput {
                parsed = try RelayToken(parsing: token.hasPrefix("?") ? String(token.dropFirst()) : token)
                signer = try AccountID(parsing: account)
            }
            guard let parsed, let signer else { throw ExitCode(2) }
            print("claims     \(parsed.claims.json)")
            print("signature  \(parsed.signature.keyType)")
            do {
                try parsed.verify(account: signer)
                if !ignoreExpiry, parsed.isExpired() { throw RelayTokenError.expired }
                print("verdict    valid")
            } catch let error as RelayTokenError {
                print("verdict    invalid: \(error.description)")
                throw ExitCode(1)
            }
        }
    }
}
