import Foundation
import RMBEngine
import TOMLKit
import TwinDirectory

/// `config.toml` for rmb-peer (documented key by key in config.toml.example). Every value is
/// optional; command-line flags override the file.
struct PeerConfigFile: Equatable {
    var mnemonic: String?
    var mnemonicFile: String?
    var keyType: String?
    var twinsFile: String?
    var substrate: [String]?
    var relays: [String]?
    /// `[directory] update`: false = `--no-update`.
    var updateTwin: Bool?
    /// `[relays] replace`: true = `--replace-relays`.
    var replaceRelays: Bool?
    var redis: String?
    var storePath: String?
    var storeMapSizeMiB: Int?
    /// `[metrics] listen`: host:port of `GET /metrics`.
    var metricsListen: String?
    /// `[tls] ca_file`: PEM file of extra trusted roots (flag --ca-file).
    var caFile: String?
    /// `[relays]` timing of every relay connection: keepalive, confirmation timeout, hedging.
    var keepaliveMillis: Int?
    var confirmationTimeoutMillis: Int?
    /// `[relays] confirmation_window_ms`: 0 writes a ping after every batch.
    var confirmationWindowMillis: Int?
    var hedge: Bool?
    var hedgeFloorMillis: Int?
    var hedgeMultiplier: Double?

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    private static let known: [String: Set<String>] = [
        "identity": ["mnemonic", "mnemonic_file", "key_type"],
        "directory": ["twins_file", "substrate", "update"],
        "relays": ["urls", "replace", "keepalive_ms", "confirmation_timeout_ms", "confirmation_window_ms", "hedge", "hedge_floor_ms",
                   "hedge_multiplier"],
        "redis": ["url"],
        "store": ["path", "map_size_mib"],
        "metrics": ["listen"],
        "tls": ["ca_file"],
    ]

    static func load(path: String) throws(Failure) -> PeerConfigFile {
        guard let data = FileManager.default.contents(atPath: path) else { throw Failure(description: "cannot read config file \(path)") }
        guard let text = String(data: data, encoding: .utf8) else { throw Failure(description: "\(path): not UTF-8") }
        return try parse(text, path: path)
    }

    static func parse(_ text: String, path: String) throws(Failure) -> PeerConfigFile {
        guard !text.utf8.contains(0) else { throw Failure(description: "\(path): contains a NUL byte") }
        // toml++ asserts on some malformed input: screen it first (see TOMLInputGuard).
        if let rejection = TOMLInputGuard.check(text) { throw Failure(description: "\(path): \(rejection)") }
        let root: TOMLTable
        do { root = try TOMLTable(string: text) } catch {
            throw Failure(description: "\(path): invalid TOML: \(error)")
        }
        for section in root.keys {
            guard let keys = known[section] else { throw Failure(description: "\(path): unknown section [\(section)]") }
            guard let table = root[section]?.table else { throw Failure(description: "\(path): '\(section)' must be a [\(section)] table") }
            if let unknown = table.keys.first(where: { !keys.contains($0) }) {
                throw Failure(description: "\(path): unknown key '\(unknown)' in [\(section)]")
            }
        }
        func string(_ section: String, _ key: String) throws(Failure) -> String? {
            guard let value = root[section]?.table?[key] else { return nil }
            guard let text = value.string else { throw Failure(description: "\(path): \(section).\(key) must be a string") }
            return text
        }
        func strings(_ section: String, _ key: String) throws(Failure) -> [String]? {
            guard let value = root[section]?.table?[key] else { return nil }
            guard let array = value.array else { throw Failure(description: "\(path): \(section).\(key) must be an array of strings") }
            var out: [String] = []
            for item in array {
                guard let text = item.string else { throw Failure(description: "\(path): \(section).\(key) must be an array of strings") }
                out.append(text)
            }
            return out
        }
        func bool(_ section: String, _ key: String) throws(Failure) -> Bool? {
            guard let value = root[section]?.table?[key] else { return nil }
            guard let flag = value.bool else { throw Failure(description: "\(path): \(section).\(key) must be true or false") }
            return flag
        }
        var config = PeerConfigFile()
        config.updateTwin = try bool("directory", "update")
        config.replaceRelays = try bool("relays", "replace")
        config.mnemonic = try string("identity", "mnemonic")
        config.mnemonicFile = try string("identity", "mnemonic_file")
        config.keyType = try string("identity", "key_type")
        config.twinsFile = try string("directory", "twins_file")
        config.substrate = try strings("directory", "substrate")
        config.relays = try strings("relays", "urls")
        config.redis = try string("redis", "url")
        config.storePath = try string("store", "path")
        config.metricsListen = try string("metrics", "listen")
        config.caFile = try string("tls", "ca_file")
        func milliseconds(_ section: String, _ key: String) throws(Failure) -> Int? {
            guard let value = root[section]?.table?[key] else { return nil }
            guard let number = value.int, number > 0, number <= 3_600_000 else {
                throw Failure(description: "\(path): \(section).\(key) must be a whole number of milliseconds, 1 to 3600000")
            }
            return number
        }
        config.keepaliveMillis = try milliseconds("relays", "keepalive_ms")
        config.confirmationTimeoutMillis = try milliseconds("relays", "confirmation_timeout_ms")
        config.hedgeFloorMillis = try milliseconds("relays", "hedge_floor_ms")
        config.hedge = try bool("relays", "hedge")
        if let value = root["relays"]?.table?["confirmation_window_ms"] {
            guard let number = value.int, (0...1_000).contains(number) else {
                throw Failure(description: "\(path): relays.confirmation_window_ms must be a whole number of milliseconds, 0 to 1000")
            }
            config.confirmationWindowMillis = number
        }
        if let value = root["relays"]?.table?["hedge_multiplier"] {
            guard let number = value.double ?? value.int.map(Double.init), number >= 1, number <= 100 else {
                throw Failure(description: "\(path): relays.hedge_multiplier must be a number from 1 to 100")
            }
            config.hedgeMultiplier = number
        }
        if let value = root["store"]?.table?["map_size_mib"] {
            guard let size = value.int, size > 0 else { throw Failure(description: "\(path): store.map_size_mib must be a positive integer") }
            config.storeMapSizeMiB = size
        }
        return config
    }
}
