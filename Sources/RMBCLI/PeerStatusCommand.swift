import ArgumentParser
import Foundation

/// `rmb peer status --store DIR`: what a running rmb-peer reports in `<store>/status.json`.
struct PeerStatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "peer", abstract: "Inspect a running rmb-peer.", subcommands: [Status.self])

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Relay states, ranks, round trips and store queue depths of a running peer.")
        @Option(help: "The peer's --store directory.") var store: String = "rmb-peer-store"
        @Flag(help: "Print the raw JSON.") var json = false

        func run() throws {
            try reportingBadInput {
                let path = store + "/status.json"
                guard let data = FileManager.default.contents(atPath: path) else {
                    throw InputError("no status at \(path): is rmb-peer running with --store \(store)?")
                }
                guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                    throw InputError("\(path) is not a status file")
                }
                if json { print(String(decoding: data, as: UTF8.self)); return }
                let time = (object["time"] as? Int) ?? 0
                let age = Int(Date().timeIntervalSince1970) - time
                print("twin \(object["twin"] ?? "?") (\(object["account"] ?? "?")), reported \(age) s ago\(age > 10 ? " — the peer may not be running" : "")")
                print("relay".padding(toLength: 34, withPad: " ", startingAt: 0) + "state         rank     rtt ms  failures  batches")
                for relay in object["relays"] as? [[String: Any]] ?? [] {
                    let name = (relay["relay"] as? String ?? "?").padding(toLength: 34, withPad: " ", startingAt: 0)
                    let state = (relay["state"] as? String ?? "?").padding(toLength: 12, withPad: " ", startingAt: 0)
                    let rank = (relay["rank"] as? Double).map { $0 < 0 ? "-" : String(format: "%.3f", $0) } ?? "-"
                    let rtt = (relay["last_round_trip_ms"] as? Double).map { String(format: "%.1f", $0) } ?? "-"
                    let failures = (relay["recent_failures"] as? Double).map { String(format: "%.1f", $0) } ?? "-"
                    let batches = relay["confirmed_batches"] as? Int ?? 0
                    print(name + state + rank.leftPad(6) + rtt.leftPad(11) + failures.leftPad(10) + String(batches).leftPad(9))
                    if let error = relay["last_error"] as? String, !error.isEmpty { print("    last error: \(error)") }
                }
                if let s = object["store"] as? [String: Any] {
                    print("store: outbox \(s["outbox"] ?? 0), inbox pending \(s["inbox_pending"] ?? 0), inbox keys \(s["inbox_keys"] ?? 0), backlog \(s["backlog"] ?? 0), awaiting reply \(s["awaiting_reply"] ?? 0), map \(s["map_used_bytes"] ?? 0)/\(s["map_size"] ?? 0) bytes")
                }
            }
        }
    }
}

extension String {
    fileprivate func leftPad(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
