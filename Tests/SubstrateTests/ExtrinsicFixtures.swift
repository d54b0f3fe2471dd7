import Foundation
import RMBTestSupport
import Substrate
import Testing

/// `Tests/Fixtures/tfchain/extrinsic-*.json`, written by scripts/make-tfchain-fixtures.py with
/// py-scale-codec from the metadata snapshot.
struct ExtrinsicFixture: Decodable {
    struct Format: Decodable {
        struct Extension: Decodable {
            let identifier: String
            let extra_type_id: UInt32
            let additional_signed_type_id: UInt32
            let extra_is_empty: Bool
            let additional_signed_is_empty: Bool
        }
        let extrinsic_version: Int
        let address_type: String
        let address_variants: [String: UInt8]
        let signature_type: String
        let signature_variants: [String: UInt8]
        let signed_extensions: [Extension]
    }

    struct MortalEra: Decodable {
        let period: UInt64
        let current: UInt64
    }

    struct Part: Decodable {
        let identifier: String
        let extra: String
        let additional_signed: String
    }

    struct Case: Decodable, CustomTestStringConvertible {
        let name: String
        let scheme: String
        let account_id: String
        let relay_utf8: String?
        let pk: String?
        let era: MortalEra?
        let nonce: UInt64
        let tip: UInt64
        let checkpoint_block_hash: String
        let call: String
        let era_bytes: String
        let extensions: [Part]
        let extra: String
        let additional_signed: String
        let signing_payload: String
        let signing_payload_length: Int
        let payload_is_hashed: Bool
        let signed_message: String
        let signature: String
        let signature_offset: Int
        let extrinsic: String
        let extrinsic_hash: String

        var testDescription: String { name }

        enum CodingKeys: String, CodingKey {
            case name, scheme, account_id, relay_utf8, pk, era, nonce, tip, checkpoint_block_hash, call, era_bytes
            case extensions, extra, additional_signed, signing_payload, signing_payload_length, payload_is_hashed
            case signed_message, signature, signature_offset, extrinsic, extrinsic_hash
        }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            name = try c.decode(String.self, forKey: .name)
            scheme = try c.decode(String.self, forKey: .scheme)
            account_id = try c.decode(String.self, forKey: .account_id)
            relay_utf8 = try c.decodeIfPresent(String.self, forKey: .relay_utf8)
            pk = try c.decodeIfPresent(String.self, forKey: .pk)
            // "immortal" or {"period", "current"}
            era = try? c.decode(MortalEra.self, forKey: .era)
            nonce = try c.decode(UInt64.self, forKey: .nonce)
            tip = try c.decode(UInt64.self, forKey: .tip)
            checkpoint_block_hash = try c.decode(String.self, forKey: .checkpoint_block_hash)
            call = try c.decode(String.self, forKey: .call)
            era_bytes = try c.decode(String.self, forKey: .era_bytes)
            extensions = try c.decode([Part].self, forKey: .extensions)
            extra = try c.decode(String.self, forKey: .extra)
            additional_signed = try c.decode(String.self, forKey: .additional_signed)
            signing_payload = try c.decode(String.self, forKey: .signing_payload)
            signing_payload_length = try c.decode(Int.self, forKey: .signing_payload_length)
            payload_is_hashed = try c.decode(Bool.self, forKey: .payload_is_hashed)
            signed_message = try c.decode(String.self, forKey: .signed_message)
            signature = try c.decode(String.self, forKey: .signature)
            signature_offset = try c.decode(Int.self, forKey: .signature_offset)
            extrinsic = try c.decode(String.self, forKey: .extrinsic)
            extrinsic_hash = try c.decode(String.self, forKey: .extrinsic_hash)
        }
    }

    let extrinsic_format: Format
    let genesis_hash: String
    let spec_version: UInt32
    let transaction_version: UInt32
    let call_index: [String: UInt8]
    let cases: [Case]

    static func load() throws -> ExtrinsicFixture {
        try JSONDecoder().decode(ExtrinsicFixture.self, from: Fixtures.data("tfchain/extrinsic-update-twin.json"))
    }

    /// Loaded once for parameterized tests; an unreadable fixture yields no cases, which
    /// `fixtureHasCases` reports as a failure.
    static let shared: ExtrinsicFixture? = try? load()
    static var sharedCases: [Case] { shared?.cases ?? [] }
}

struct EraFixture: Decodable {
    struct Mortal: Decodable, CustomTestStringConvertible {
        let requested_period: UInt64
        let current: UInt64
        let period: UInt64
        let phase: UInt64
        let encoded: String
        let birth_block: UInt64
        var testDescription: String { "period \(requested_period) at \(current)" }
    }
    let immortal: String
    let mortal: [Mortal]

    static let shared: EraFixture? = try? JSONDecoder().decode(EraFixture.self, from: Fixtures.data("tfchain/extrinsic-era.json"))
}

/// The signed extensions of the bundled tfchain snapshot, written out by hand (identifiers and
/// type ids as the snapshot's `extrinsic.signed_extensions` lists them) so these tests don't
/// depend on the metadata parser. `ExtrinsicTests` checks them against the fixture.
enum SnapshotExtensions {
    static let descriptors: [SignedExtensionDescriptor] = [
        .init(identifier: "CheckNonZeroSender", extraTypeID: 293, additionalSignedTypeID: 32, extraIsEmpty: true, additionalSignedIsEmpty: true),
        .init(identifier: "CheckSpecVersion", extraTypeID: 294, additionalSignedTypeID: 4, extraIsEmpty: true, additionalSignedIsEmpty: false),
        .init(identifier: "CheckTxVersion", extraTypeID: 295, additionalSignedTypeID: 4, extraIsEmpty: true, additionalSignedIsEmpty: false),
        .init(identifier: "CheckGenesis", extraTypeID: 296, additionalSignedTypeID: 12, extraIsEmpty: true, additionalSignedIsEmpty: false),
        .init(identifier: "CheckMortality", extraTypeID: 297, additionalSignedTypeID: 12, extraIsEmpty: false, additionalSignedIsEmpty: false),
        .init(identifier: "CheckNonce", extraTypeID: 299, additionalSignedTypeID: 32, extraIsEmpty: false, additionalSignedIsEmpty: true),
        .init(identifier: "CheckWeight", extraTypeID: 300, additionalSignedTypeID: 32, extraIsEmpty: true, additionalSignedIsEmpty: true),
        .init(identifier: "ChargeTransactionPayment", extraTypeID: 301, additionalSignedTypeID: 32, extraIsEmpty: false, additionalSignedIsEmpty: true),
    ]
}

/// Identity "alpha" of vectors/identities.json: the fixture's signer (ed25519 seed = sr25519 mini secret).
enum AlphaKeys {
    static let miniSecret = [UInt8](testHex: "5d42157de3dd33befc8d956cb3a7c8149a182e10a297b36e1a4208d81db8063d")
}
