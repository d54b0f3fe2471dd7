import Foundation
import RMBTestSupport
import Substrate
import Testing

@Suite struct HashingTests {
    @Test func xxHash64KnownVectors() {
        #expect(XXHash64.hash([], seed: 0) == 0xEF46_DB37_51D8_E999)
        #expect(XXHash64.hash(Array("abc".utf8), seed: 0) == 0x44BC_2CF5_AD77_0999)
    }

    /// Inputs longer than 32 bytes take the four-lane path. Expected values made with the
    /// reference library: `python3 -c "import xxhash; print(hex(xxhash.xxh64(bytes(range(100)), seed=S).intdigest()))"`
    /// (xxhash 4.1.0) and likewise for the 39-byte sentence.
    @Test func xxHash64LongInputs() {
        let counting = (0..<100).map { UInt8($0) }
        #expect(XXHash64.hash(counting, seed: 0) == 0x6AC1_E580_3216_6597)
        #expect(XXHash64.hash(counting, seed: 0x9E37_79B9_7F4A_7C15) == 0x3B97_D91E_BA03_E785)
        let sentence = Array("Nobody inspects the spammish repetition".utf8)
        #expect(XXHash64.hash(sentence, seed: 0) == 0xFBCE_A83C_8A37_8BF1)
        #expect(XXHash64.hash(sentence, seed: 1) == 0x43F4_2544_8D95_4DB6)
    }

    @Test func twox128OfPalletAndItemNames() {
        #expect(StorageHasher.twox128.hash(Array("System".utf8)).testHex == "26aa394eea5630e07c48ae0c9558cef7")
        #expect(StorageHasher.twox128.hash(Array("Events".utf8)).testHex == "80d41e5e16056765bc8461851072c9d7")
        #expect(StorageHasher.twox128.hash(Array("TfgridModule".utf8)).testHex == "19a2526838feefd7695a3b5715b415b1")
        #expect(StorageKey.plain(pallet: "System", item: "Events").testHex == "26aa394eea5630e07c48ae0c9558cef780d41e5e16056765bc8461851072c9d7")
    }

    @Test func hasherOutputShapes() {
        let key: [UInt8] = [7, 0, 0, 0]
        #expect(StorageHasher.blake2_128.hash(key).count == 16)
        #expect(StorageHasher.blake2_256.hash(key).count == 32)
        #expect(StorageHasher.blake2_128Concat.hash(key) == StorageHasher.blake2_128.hash(key) + key)
        #expect(StorageHasher.twox256.hash(key).prefix(16) == StorageHasher.twox128.hash(key)[...])
        #expect(StorageHasher.twox64Concat.hash(key) == StorageHasher.twox128.hash(key).prefix(8) + key)
        #expect(StorageHasher.identity.hash(key) == key)
    }

    /// Every twin of the vectors: both keys rebuilt from the id / account, once with the
    /// hasher the spec names and once with the hashers the snapshot metadata declares.
    @Test func twinStorageKeysMatchVectors() throws {
        let vectors = try Fixtures.json("vectors/twins.json")
        let twins = try #require(vectors["twins"] as? [[String: Any]])
        #expect(!twins.isEmpty)
        let metadata = try MetadataSnapshot.metadata()
        let twinsHashers = try metadata.storageEntry(pallet: "TfgridModule", item: "Twins").hashers
        let byAccountHashers = try metadata.storageEntry(pallet: "TfgridModule", item: "TwinIdByAccountID").hashers
        #expect(twinsHashers == [.blake2_128Concat])
        #expect(byAccountHashers == [.blake2_128Concat])

        for twin in twins {
            let id = try #require(twin["id"] as? Int)
            let account = [UInt8](testHex: try #require(twin["account_id"] as? String))
            let expectedTwinKey = try #require(twin["storage_key_Twins"] as? String)
            let expectedAccountKey = try #require(twin["storage_key_TwinIdByAccountID"] as? String)
            var idBytes = ScaleEncoder()
            idBytes.encode(UInt32(id))

            let twinKey = StorageKey.map(pallet: "TfgridModule", item: "Twins", keys: zip(twinsHashers, [idBytes.bytes]).map { (hasher: $0, key: $1) })
            #expect(twinKey.testHex == expectedTwinKey)
            #expect(StorageKey.map(pallet: "TfgridModule", item: "Twins", hasher: .blake2_128Concat, key: idBytes.bytes).testHex == expectedTwinKey)
            #expect(try metadata.storageKey(pallet: "TfgridModule", item: "Twins", keys: [idBytes.bytes]).testHex == expectedTwinKey)

            let accountKey = StorageKey.map(pallet: "TfgridModule", item: "TwinIdByAccountID", keys: zip(byAccountHashers, [account]).map { (hasher: $0, key: $1) })
            #expect(accountKey.testHex == expectedAccountKey)
            #expect(try metadata.storageKey(pallet: "TfgridModule", item: "TwinIdByAccountID", keys: [account]).testHex == expectedAccountKey)
        }
    }

    @Test func storageKeyWithWrongKeyCountThrows() throws {
        let metadata = try MetadataSnapshot.metadata()
        #expect(throws: MetadataError.wrongKeyCount(pallet: "TfgridModule", item: "Twins", expected: 1, got: 0)) {
            try metadata.storageKey(pallet: "TfgridModule", item: "Twins")
        }
        #expect(try metadata.storageKey(pallet: "TfgridModule", item: "TwinID") == StorageKey.plain(pallet: "TfgridModule", item: "TwinID"))
    }
}
