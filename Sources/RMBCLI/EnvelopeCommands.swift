import ArgumentParser
import Foundation
import RMBIdentity
import RMBProtocol

struct EnvelopeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "envelope",
        abstract: "Decode and verify RMB envelopes (hex of the protobuf bytes).",
        subcommands: [Decode.self, Verify.self]
    )

    struct Decode: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show every field, the challenge and the digest.")
        @Option(help: "Envelope bytes in hex.") var hex: String
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            try reportingBadInput {
                let envelope = try parseEnvelopeHex(hex)
                print(EnvelopeReport(envelope).render(json: json))
            }
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check the signature against an account: prints `valid` (exit 0) or the reason (exit 1).")
        @Option(help: "Envelope bytes in hex.") var hex: String
        @Option(help: "Signer account: 64 hex digits or SS58.") var account: String

        func run() throws {
            var envelope = RMBEnvelope()
            var signer: AccountID?
            try reportingBadInput {
                envelope = try parseEnvelopeHex(hex)
                signer = try AccountID(parsing: account)
            }
            guard let signer else { throw ExitCode(2) }
            do {
                try envelope.verifySignature(account: signer)
                print("valid")
            } catch {
                print("invalid: \(error.description)")
                throw ExitCode(1)
            }
        }
    }
}

func parseEnvelopeHex(_ text: String) throws -> RMBEnvelope {
    let cleaned = text.filter { !$0.isWhitespace }
    guard let bytes = Hex.decode(cleaned) else {
        throw InputError(cleaned.count % 2 == 1 ? "invalid hex: odd number of digits" : "invalid hex: non-hex character")
    }
    guard !bytes.isEmpty else { throw InputError("empty envelope") }
    return try RMBEnvelope(wire: bytes)
}

/// Human and JSON views of an envelope.
struct EnvelopeReport {
    let envelope: RMBEnvelope
    init(_ envelope: RMBEnvelope) { self.envelope = envelope }

    private func address(_ present: Bool, _ a: RMBAddress) -> String? { present ? a.text : nil }

    private var messageFields: [String: Any] {
        switch envelope.message {
        case .request(let r)?: ["kind": "request", "command": r.command]
        case .error(let e)?: ["kind": "error", "code": e.code, "message": e.message]
        default: ["kind": envelope.messageKind]
        }
    }

    private var signatureFields: Any {
        guard envelope.hasSignature else { return NSNull() }
        let bytes = [UInt8](envelope.signature)
        let type = (try? TypedSignature(bytes: bytes)).map { $0.keyType.description } ?? "invalid"
        return ["type": type, "length": bytes.count, "hex": Hex.encode(bytes)] as [String: Any]
    }

    private var payloadFields: [String: Any] {
        let bytes = [UInt8](envelope.payloadBytes)
        var fields: [String: Any] = ["kind": envelope.payloadKind, "length": bytes.count, "hex": Hex.encode(bytes)]
        if envelope.payloadKind == "plain", let text = String(validating: bytes, as: UTF8.self) { fields["utf8"] = text }
        return fields
    }

    func render(json: Bool) -> String {
        let unknown = [UInt8](envelope.unknownFields.data)
        if json {
            let object: [String: Any] = [
                "uid": envelope.uid,
                "tags": envelope.hasTags ? envelope.tags : NSNull(),
                "timestamp": envelope.timestamp,
                "expiration": envelope.expiration,
                "source": address(envelope.hasSource, envelope.source) ?? NSNull(),
                "destination": address(envelope.hasDestination, envelope.destination) ?? NSNull(),
                "message": messageFields,
                "signature": signatureFields,
                "schema": envelope.hasSchema ? envelope.schema : NSNull(),
                "federation": envelope.hasFederation ? envelope.federation : NSNull(),
                "relays": envelope.relays,
                "payload": payloadFields,
                "unknown_fields_hex": Hex.encode(unknown),
                "challenge_hex": Hex.encode(envelope.challenge),
                "digest": Hex.encode(envelope.digest),
            ]
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
            return String(decoding: data, as: UTF8.self)
        }
        func opt(_ present: Bool, _ value: String) -> String { present ? value : "(absent)" }
        var lines: [(String, String)] = [
            ("uid", envelope.uid),
            ("tags", opt(envelope.hasTags, envelope.tags)),
            ("timestamp", "\(envelope.timestamp)"),
            ("expiration", "\(envelope.expiration)"),
            ("source", address(envelope.hasSource, envelope.source) ?? "(absent: twin 0)"),
            ("destination", address(envelope.hasDestination, envelope.destination) ?? "(absent: twin 0)"),
        ]
        switch envelope.message {
        case .request(let r)?: lines.append(("message", "request, command \(r.command)"))
        case .error(let e)?: lines.append(("message", "error, code \(e.code): \(e.message)"))
        default: lines.append(("message", envelope.messageKind))
        }
        if envelope.hasSignature {
            let bytes = [UInt8](envelope.signature)
            let type = (try? TypedSignature(bytes: bytes)).map { $0.keyType.description } ?? "invalid"
            lines.append(("signature", "\(type), \(bytes.count) bytes, \(Hex.encode(bytes))"))
        } else {
            lines.append(("signature", "(absent)"))
        }
        lines.append(("schema", opt(envelope.hasSchema, envelope.schema)))
        lines.append(("federation", opt(envelope.hasFederation, envelope.federation)))
        lines.append(("relays", envelope.relays.isEmpty ? "(none)" : envelope.relays.joined(separator: ", ")))
        let payload = [UInt8](envelope.payloadBytes)
        var payloadText = "\(envelope.payloadKind), \(payload.count) bytes"
        if !payload.isEmpty { payloadText += ", hex \(Hex.encode(payload))" }
        if envelope.payloadKind == "plain", !payload.isEmpty, let text = String(validating: payload, as: UTF8.self) {
            payloadText += ", utf8 \(text.debugDescription)"
        }
        lines.append(("payload", payloadText))
        if !unknown.isEmpty { lines.append(("unknown fields", Hex.encode(unknown))) }
        lines.append(("challenge", Hex.encode(envelope.challenge)))
        lines.append(("digest (md5)", Hex.encode(envelope.digest)))
        return lines.map { "\($0.0.padding(toLength: 14, withPad: " ", startingAt: 0)) \($0.1)" }.joined(separator: "\n")
    }
}
