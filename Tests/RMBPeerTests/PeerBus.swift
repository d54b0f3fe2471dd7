import Foundation
import RedisClient

/// A reply on a client's `ret` list (peer.md §4.2).
struct BusReply: Sendable, CustomStringConvertible {
    let raw: String
    let ref: String?
    let dat: String
    let src: String
    let errorCode: Int?
    let errorMessage: String?
    let keys: [String]
    /// When the test read it (replies are parsed as they are popped).
    let receivedAt = ContinuousClock.now

    init?(_ bytes: [UInt8]) {
        raw = String(decoding: bytes, as: UTF8.self)
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else { return nil }
        ref = object["ref"] as? String
        dat = object["dat"] as? String ?? ""
        src = object["src"] as? String ?? "?"
        if let error = object["err"] as? [String: Any] {
            errorCode = (error["code"] as? NSNumber)?.intValue
            errorMessage = error["message"] as? String
        } else {
            errorCode = nil
            errorMessage = nil
        }
        // Key order as written (the spec fixes it).
        keys = Self.topLevelKeys(raw)
    }

    var isError: Bool { errorCode != nil || errorMessage != nil }
    var payload: [UInt8] { Data(base64Encoded: dat).map { [UInt8]($0) } ?? [] }
    var text: String { String(decoding: payload, as: UTF8.self) }
    var description: String { raw }

    private static func topLevelKeys(_ json: String) -> [String] {
        // Good enough for the flat objects of the API: keys are the strings followed by ':' at depth 1.
        var keys: [String] = []
        var depth = 0, inString = false, escaped = false, current = "", lastString = ""
        for ch in json {
            if inString {
                if escaped { escaped = false; current.append(ch); continue }
                if ch == "\\" { escaped = true; continue }
                if ch == "\"" { inString = false; lastString = current; continue }
                current.append(ch)
                continue
            }
            switch ch {
            case "\"": inString = true; current = ""
            case "{", "[": depth += 1
            case "}", "]": depth -= 1
            case ":": if depth == 1 { keys.append(lastString) }
            default: break
            }
        }
        return keys
    }
}

/// The application side of one peer's local Redis: sends requests on `msgbus.system.local`
/// and reads replies from `ret` lists, as an RMB client application does.
final class BusClient: Sendable {
    let redis: RedisClient

    init(url: String) throws {
        redis = try RedisClient(url: url, poolSize: 2)
    }

    deinit { redis.close() }

    static func requestJSON(ref: String?, cmd: String, dst: [UInt32], ret: String, dat: [UInt8] = [], exp: Int = 60, now: Int = 0) -> String {
        var object: [String: Any] = ["ver": 1, "cmd": cmd, "exp": exp, "dat": Data(dat).base64EncodedString(),
                                     "dst": dst.map { Int($0) }, "ret": ret, "shm": "application/json", "now": now]
        object["ref"] = ref ?? NSNull()
        object["tag"] = NSNull()
        let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    /// LPUSH msgbus.system.local <request>.
    func request(ref: String?, cmd: String, dst: [UInt32], ret: String, dat: [UInt8] = [], exp: Int = 60, now: Int = 0) async throws {
        try await push("msgbus.system.local", Self.requestJSON(ref: ref, cmd: cmd, dst: dst, ret: ret, dat: dat, exp: exp, now: now))
    }

    /// LPUSH of raw text on any list.
    func push(_ list: String, _ text: String) async throws {
        let reply = try await redis.send(["LPUSH", .string(list), .bytes(Array(text.utf8))])
        if let error = reply.errorMessage { throw RedisError.server(error) }
    }

    func length(_ list: String) async throws -> Int {
        Int(try await redis.send(["LLEN", .string(list)]).integer ?? -1)
    }

    /// Reads replies from `list` until `count` arrived or `timeout` passed (or, with `idle`, no
    /// reply came for that long); then keeps reading for `linger` to catch late duplicates.
    func collect(_ list: String, count: Int, timeout: Duration, linger: Duration = .zero, idle: Duration? = nil) async throws -> [BusReply] {
        let connection = redis.makeDedicatedConnection(label: "collect:\(list)")
        defer { connection.close() }
        var replies: [BusReply] = []
        var deadline = ContinuousClock.now + timeout
        var lingering = false
        var lastProgress = ContinuousClock.now
        while true {
            let now = ContinuousClock.now
            if replies.count >= count, !lingering {
                lingering = true
                deadline = now + linger
            }
            if now >= deadline { break }
            if let idle, !lingering, now - lastProgress > idle { break }
            let wait = min(deadline - now, .seconds(1))
            let reply = try await connection.blocking(["BRPOP", .string(list), .string(Self.seconds(wait))], blockTimeout: wait)
            guard let items = reply.array, items.count == 2, let bytes = items[1].bytes else { continue }
            replies.append(BusReply(bytes) ?? BusReply(Array("{\"unparsable\":true}".utf8))!)
            lastProgress = ContinuousClock.now
        }
        return replies
    }

    private static func seconds(_ duration: Duration) -> String {
        let value = max(0.05, Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18)
        return String(format: "%.3f", value)
    }
}

/// A test service on a peer's local Redis: `BRPOP msgbus.<command>`, answers each request with
/// its own payload on `msgbus.system.reply`, and counts requests per `ref` (the envelope uid).
/// A reply is never lost when Redis restarts between the BRPOP and the LPUSH: the LPUSH is
/// retried until Redis takes it.
final class EchoService: @unchecked Sendable {
    private let lock = NSLock()
    private var seen: [String: Int] = [:]
    private var task: Task<Void, Never>?
    private let redis: RedisClient

    init(url: String, command: String = "echo") throws {
        redis = try RedisClient(url: url, poolSize: 1)
        let redis = self.redis
        task = Task { [weak self] in
            let connection = redis.makeDedicatedConnection(label: "echo")
            defer { connection.close() }
            while !Task.isCancelled {
                let request: [String: Any]
                do {
                    let reply = try await connection.blocking(["BRPOP", .string("msgbus." + command), "1"], blockTimeout: .seconds(1))
                    guard let items = reply.array, items.count == 2, let bytes = items[1].bytes,
                          let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any]
                    else { continue }
                    request = object
                } catch is CancellationError {
                    return
                } catch {
                    try? await Task.sleep(for: .milliseconds(50))
                    continue
                }
                let ref = request["ref"] as? String ?? ""
                self?.record(ref)
                let response: [String: Any] = ["ver": 1, "ref": ref, "dat": request["dat"] as? String ?? "",
                                               "dst": request["src"] as? String ?? "", "shm": request["shm"] ?? NSNull(), "now": 0]
                guard let data = try? JSONSerialization.data(withJSONObject: response) else { continue }
                while !Task.isCancelled {
                    if let reply = try? await redis.send(["LPUSH", "msgbus.system.reply", .bytes([UInt8](data))]), reply.errorMessage == nil { break }
                    try? await Task.sleep(for: .milliseconds(50))
                }
            }
        }
    }

    deinit { task?.cancel(); redis.close() }

    private func record(_ ref: String) { lock.withLock { seen[ref, default: 0] += 1 } }

    func stop() { task?.cancel() }
    var received: Int { lock.withLock { seen.values.reduce(0, +) } }
    var distinct: Int { lock.withLock { seen.count } }
    /// Requests (envelope uids) received more than once, with their counts.
    var repeated: [String: Int] { lock.withLock { seen.filter { $0.value > 1 } } }
    var duplicates: Int { lock.withLock { seen.values.reduce(0) { $0 + max(0, $1 - 1) } } }
    func count(of uid: String) -> Int { lock.withLock { seen[uid] ?? 0 } }
}

/// Reply statistics per `ref`.
struct ReplyTally: CustomStringConvertible {
    let expected: Set<String>
    let counts: [String: Int]
    let errors: [BusReply]

    init(expected: Set<String>, replies: [BusReply]) {
        self.expected = expected
        var counts: [String: Int] = [:]
        for reply in replies { counts[reply.ref ?? "<nil>", default: 0] += 1 }
        self.counts = counts
        errors = replies.filter(\.isError)
    }

    var answered: Int { expected.filter { counts[$0] != nil }.count }
    var missing: [String] { expected.filter { counts[$0] == nil }.sorted() }
    var duplicates: Int { counts.values.reduce(0) { $0 + max(0, $1 - 1) } }
    var unexpected: [String] { counts.keys.filter { !expected.contains($0) }.sorted() }
    var total: Int { counts.values.reduce(0, +) }

    var description: String {
        "requests \(expected.count), replies \(total), answered \(answered), missing \(missing.count)\(missing.isEmpty ? "" : " \(missing.prefix(10))"), duplicates \(duplicates), errors \(errors.count)\(errors.isEmpty ? "" : " e.g. \(errors[0])"), unexpected refs \(unexpected.prefix(5))"
    }
}
