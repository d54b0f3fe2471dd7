import Foundation
import Testing
@testable import RMBEngine
@testable import RMBPeer

struct PeerConfigFileTests {
    @Test func theExampleFileParses() throws {
        let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("config.toml.example")
        let config = try PeerConfigFile.load(path: example.path)
        #expect(config.keyType == "sr25519")
        #expect(config.twinsFile == "twins.toml")
        #expect(config.relays == ["http://127.0.0.1:8081", "http://127.0.0.1:8082"])
        #expect(config.redis == "redis://127.0.0.1:6379")
        #expect(config.storePath == "rmb-peer-store" && config.storeMapSizeMiB == 1024)
        #expect(config.mnemonic == nil && config.substrate == nil)
    }

    @Test func relayTimingKeys() throws {
        let config = try PeerConfigFile.parse("""
            [relays]
            keepalive_ms = 2000
            confirmation_timeout_ms = 4000
            confirmation_window_ms = 0
            hedge = false
            hedge_floor_ms = 150
            hedge_multiplier = 3
            """, path: "c.toml")
        #expect(config.keepaliveMillis == 2000 && config.confirmationTimeoutMillis == 4000)
        #expect(config.confirmationWindowMillis == 0)
        #expect(config.hedge == false && config.hedgeFloorMillis == 150 && config.hedgeMultiplier == 3)
    }

    @Test func badFilesGiveClearErrors() {
        let cases: [(String, String)] = [
            ("[identity]\nmnemonik = \"x\"", "unknown key 'mnemonik' in [identity]"),
            ("[nope]\na = 1", "unknown section [nope]"),
            ("[redis]\nurl = 5", "redis.url must be a string"),
            ("[relays]\nurls = \"x\"", "relays.urls must be an array of strings"),
            ("[store]\nmap_size_mib = -1", "map_size_mib must be a positive integer"),
            ("[relays]\nhedge_floor_ms = 0", "relays.hedge_floor_ms must be a whole number of milliseconds"),
            ("[relays]\nconfirmation_window_ms = 5000", "relays.confirmation_window_ms must be a whole number of milliseconds, 0 to 1000"),
            ("[relays]\nhedge_multiplier = 0.5", "relays.hedge_multiplier must be a number from 1 to 100"),
            ("[relays]\nhedge = \"yes\"", "relays.hedge must be true or false"),
            ("[=]", "c.toml"),
            ("a = [}", "c.toml"),
            ("[identity", "c.toml"),
        ]
        for (text, expected) in cases {
            do {
                _ = try PeerConfigFile.parse(text, path: "c.toml")
                Issue.record("accepted \(text)")
            } catch {
                #expect(error.description.contains(expected), "\(text) → \(error.description)")
            }
        }
    }
}
