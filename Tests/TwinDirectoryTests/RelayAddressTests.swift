import Foundation
import RMBTestSupport
import Testing
@testable import TwinDirectory

@Suite struct RelayAddressTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let input: String
        let host: String
        let port: UInt16?
        let secure: Bool
        let canonical: String
        let websocket: String
        let federation: String
        var testDescription: String { String(reflecting: input) }
    }

    static let validCases: [Case] = [
        Case(input: "relay.example.com", host: "relay.example.com", port: nil, secure: true, canonical: "relay.example.com",
             websocket: "wss://relay.example.com/", federation: "https://relay.example.com/"),
        Case(input: "Relay.Example.COM", host: "relay.example.com", port: nil, secure: true, canonical: "relay.example.com",
             websocket: "wss://relay.example.com/", federation: "https://relay.example.com/"),
        Case(input: "127.0.0.1:8081", host: "127.0.0.1", port: 8081, secure: true, canonical: "127.0.0.1:8081",
             websocket: "wss://127.0.0.1:8081/", federation: "https://127.0.0.1:8081/"),
        Case(input: "http://localhost:8082", host: "localhost", port: 8082, secure: false, canonical: "http://localhost:8082",
             websocket: "ws://localhost:8082/", federation: "http://localhost:8082/"),
        Case(input: "ws://localhost:8082/", host: "localhost", port: 8082, secure: false, canonical: "http://localhost:8082",
             websocket: "ws://localhost:8082/", federation: "http://localhost:8082/"),
        Case(input: "wss://relay.example.com", host: "relay.example.com", port: nil, secure: true, canonical: "relay.example.com",
             websocket: "wss://relay.example.com/", federation: "https://relay.example.com/"),
        Case(input: "HTTPS://relay.example.com:443/", host: "relay.example.com", port: nil, secure: true, canonical: "relay.example.com",
             websocket: "wss://relay.example.com/", federation: "https://relay.example.com/"),
        Case(input: "https://relay.example.com:8443", host: "relay.example.com", port: 8443, secure: true, canonical: "relay.example.com:8443",
             websocket: "wss://relay.example.com:8443/", federation: "https://relay.example.com:8443/"),
        Case(input: "http://relay:80", host: "relay", port: nil, secure: false, canonical: "http://relay",
             websocket: "ws://relay/", federation: "http://relay/"),
        Case(input: "http://relay:443", host: "relay", port: 443, secure: false, canonical: "http://relay:443",
             websocket: "ws://relay:443/", federation: "http://relay:443/"),
        Case(input: "  relay_1.local  ", host: "relay_1.local", port: nil, secure: true, canonical: "relay_1.local",
             websocket: "wss://relay_1.local/", federation: "https://relay_1.local/"),
        Case(input: "[::1]:8080", host: "::1", port: 8080, secure: true, canonical: "[::1]:8080",
             websocket: "wss://[::1]:8080/", federation: "https://[::1]:8080/"),
        Case(input: "http://[FE80::1]", host: "fe80::1", port: nil, secure: false, canonical: "http://[fe80::1]",
             websocket: "ws://[fe80::1]/", federation: "http://[fe80::1]/"),
        Case(input: "[::ffff:10.0.0.1]", host: "::ffff:10.0.0.1", port: nil, secure: true, canonical: "[::ffff:10.0.0.1]",
             websocket: "wss://[::ffff:10.0.0.1]/", federation: "https://[::ffff:10.0.0.1]/"),
        Case(input: "a:65535", host: "a", port: 65535, secure: true, canonical: "a:65535",
             websocket: "wss://a:65535/", federation: "https://a:65535/"),
    ]

    @Test(arguments: validCases)
    func parsesValidAddresses(_ c: Case) throws {
        let relay = try RelayAddress(parsing: c.input)
        #expect(relay.host == c.host)
        #expect(relay.port == c.port)
        #expect(relay.isSecure == c.secure)
        #expect(relay.canonical == c.canonical)
        #expect(relay.description == c.canonical)
        #expect(relay.websocketURL == c.websocket)
        #expect(relay.federationURL == c.federation)
        #expect(try RelayAddress(parsing: relay.canonical) == relay)
        #expect(URL(string: relay.websocketURL)?.host != nil)
    }

    @Test(arguments: [
        ("", RelayAddressError.empty),
        ("   ", .empty),
        ("ftp://relay", .unsupportedScheme("ftp://relay")),
        ("://relay", .unsupportedScheme("://relay")),
        ("https://relay/path", .unexpectedSuffix("https://relay/path")),
        ("relay?x=1", .unexpectedSuffix("relay?x=1")),
        ("user@relay", .unexpectedSuffix("user@relay")),
        ("relay#frag", .unexpectedSuffix("relay#frag")),
        ("relay//", .unexpectedSuffix("relay//")),
        ("relay:0", .invalidPort("relay:0", "0")),
        ("relay:65536", .invalidPort("relay:65536", "65536")),
        ("relay:", .invalidPort("relay:", "")),
        ("relay:-1", .invalidPort("relay:-1", "-1")),
        ("relay:+80", .invalidPort("relay:+80", "+80")),
        ("relay:८०", .invalidPort("relay:८०", "८०")),
        ("relay:http", .invalidPort("relay:http", "http")),
        ("https://", .invalidHost("https://", "empty host")),
        (":8080", .invalidHost(":8080", "empty host")),
        (".relay", .invalidHost(".relay", "empty label (leading, trailing or double dot)")),
        ("relay.", .invalidHost("relay.", "empty label (leading, trailing or double dot)")),
        ("a..b", .invalidHost("a..b", "empty label (leading, trailing or double dot)")),
        ("-relay", .invalidHost("-relay", "label starts or ends with '-'")),
        ("re lay", .invalidHost("re lay", "only letters, digits, '-' and '_' are allowed in names")),
        ("rélay", .invalidHost("rélay", "only letters, digits, '-' and '_' are allowed in names")),
        ("a:b:c", .invalidHost("a:b:c", "IPv6 addresses need brackets, e.g. [::1]:8080")),
        ("[::1", .invalidHost("[::1", "missing ']'")),
        ("[::1]x", .invalidHost("[::1]x", "unexpected text after ']'")),
        ("[relay]", .invalidHost("[relay]", "not an IPv6 address")),
        ("[1:2:3:4:5:6:7:8:9]", .invalidHost("[1:2:3:4:5:6:7:8:9]", "not an IPv6 address")),
        ("[1::2::3]", .invalidHost("[1::2::3]", "not an IPv6 address")),
    ] as [(String, RelayAddressError)])
    func rejectsBadAddresses(_ input: String, _ expected: RelayAddressError) {
        #expect(throws: expected) { try RelayAddress(parsing: input) }
    }

    @Test func rejectsOverlongNames() {
        let label = String(repeating: "a", count: 64)
        #expect(throws: RelayAddressError.self) { try RelayAddress(parsing: label + ".com") }
        let long = Array(repeating: String(repeating: "a", count: 60), count: 5).joined(separator: ".")
        #expect(throws: RelayAddressError.self) { try RelayAddress(parsing: long) }
        #expect(throws: RelayAddressError.self) { try RelayAddress(parsing: String(repeating: "a", count: 10_000)) }
    }

    @Test func errorsAreSingleLines() {
        for input in ["", "ftp://x", "x/y", "x:0", "a..b", "[::1", String(repeating: "é", count: 500)] {
            do {
                _ = try RelayAddress(parsing: input)
                Issue.record("accepted \(input)")
            } catch {
                #expect(!error.description.contains("\n"))
                #expect(error.description.count < 300)
            }
        }
    }

    @Test func equalEndpointsCompareEqual() throws {
        #expect(try RelayAddress(parsing: "wss://R.example.com:443/") == RelayAddress(parsing: "r.example.com"))
        #expect(try RelayAddress(parsing: "ws://r:80") == RelayAddress(parsing: "http://r"))
        #expect(try RelayAddress(parsing: "http://r") != RelayAddress(parsing: "r"))
        #expect(try RelayAddress(host: "R", port: 443) == RelayAddress(parsing: "r"))
        #expect(throws: RelayAddressError.self) { try RelayAddress(host: "r", port: 0) }
    }

    @Test func codableUsesCanonicalText() throws {
        let relays = try ["http://localhost:8082", "relay.example.com"].map { try RelayAddress(parsing: $0) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        let json = String(decoding: try encoder.encode(relays), as: UTF8.self)
        #expect(json == #"["http://localhost:8082","relay.example.com"]"#)
        #expect(try JSONDecoder().decode([RelayAddress].self, from: Data(json.utf8)) == relays)
    }

    // MARK: Chain relay field

    @Test(arguments: [
        ("relay.example.com", true),
        ("r1.example.com_r2.example.org", true),   // twins.json vector
        ("ab.example.com", true),
        ("localhost", true),
        ("a-b_c", true),
        ("A9.Z-0", true),
        ("_", true),                                // only separators: accepted by the chain
        ("r1.example.com_.x", true),                // '_' does not reset the dot checks
        ("", false),
        (".example.com", false),
        ("example.com.", false),
        ("a..b", false),
        ("example.com:443", false),
        ("https://example.com", false),
        ("ex ample.com", false),
        ("exämple.com", false),
        ("a/b", false),
    ] as [(String, Bool)])
    func chainRelayFieldValidation(_ field: String, _ valid: Bool) {
        #expect(RelayAddress.isValidChainRelayField(field) == valid)
    }

    /// twins.md §1: tfchain's check tracks the previous '.' starting from index 0, so a '.' at
    /// index 1 counts as "right after the previous dot". Single-letter first labels are
    /// therefore rejected even though they are valid DNS names.
    @Test func chainRelayFieldQuirkRejectsDotAtIndexOne() {
        #expect(!RelayAddress.isValidChainRelayField("a.example.com"))
        #expect(!RelayAddress.isValidChainRelayField("x.y"))
        #expect(RelayAddress.isValidChainRelayField("xx.y"))
        // Only index 1 is affected: a single-letter label later on is fine.
        #expect(RelayAddress.isValidChainRelayField("relay.a.example.com"))
        #expect(RelayAddress.isValidChainRelayField("r1.example.com_a.example.org"))
        // And it really is the host name that fails, not RMB's own parser.
        #expect((try? RelayAddress(parsing: "a.example.com")) != nil)
    }

    @Test func chainRelayFieldLengthBound() {
        #expect(RelayAddress.isValidChainRelayField(String(repeating: "a", count: 1024)))
        #expect(!RelayAddress.isValidChainRelayField(String(repeating: "a", count: 1025)))
    }

    @Test func parsesChainRelayFieldFromVectors() throws {
        let json = try Fixtures.json("vectors/twins.json")
        for twin in json["twins"] as? [[String: Any]] ?? [] {
            guard let field = twin["relay_field_utf8"] as? String, let domains = twin["relay_domains"] as? [String] else { continue }
            let relays = RelayAddress.parseChainRelayField(field)
            #expect(relays.map(\.host) == domains)
            #expect(relays.allSatisfy { $0.isSecure && $0.port == nil })
            #expect(RelayAddress.chainRelayField(for: relays) == field)
            #expect(RelayAddress.isValidChainRelayField(field))
        }
    }

    @Test func chainRelayFieldDropsEmptyAndInvalidPiecesAndDuplicates() {
        let relays = RelayAddress.parseChainRelayField("_r1.example.com__R1.example.com_-bad_r2.example.org_")
        #expect(relays.map(\.canonical) == ["r1.example.com", "r2.example.org"])
        #expect(RelayAddress.parseChainRelayField("").isEmpty)
        #expect(RelayAddress.parseChainRelayField("___").isEmpty)
    }

    @Test func chainRelayFieldForLocalAddressesIsNil() throws {
        #expect(RelayAddress.chainRelayField(for: []) == nil)
        #expect(RelayAddress.chainRelayField(for: [try RelayAddress(parsing: "http://relay.example.com")]) == nil)
        #expect(RelayAddress.chainRelayField(for: [try RelayAddress(parsing: "relay.example.com:8443")]) == nil)
        #expect(RelayAddress.chainRelayField(for: [try RelayAddress(parsing: "a.example.com")]) == nil)   // the quirk
        #expect(RelayAddress.chainRelayField(for: [try RelayAddress(parsing: "[::1]")]) == nil)
    }

    // MARK: Fuzzing

    @Test func randomInputNeverCrashes() {
        var rng = SplitMix64(seed: 0xAD_D2E5)
        let pieces = ["a", "Z", "0", "9", ".", "-", "_", ":", "/", "[", "]", "@", "?", "#", "%", " ", "é", "😀", "\u{0}",
                      "http://", "https://", "ws://", "wss://", "ftp://", "::", "8080", "65535", "99999", "[::1]", "localhost"]
        for round in 0..<6000 {
            let text: String
            if round % 3 == 0 {
                let bytes = (0..<Int.random(in: 0...60, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                text = String(decoding: bytes, as: UTF8.self)
            } else {
                text = (0..<Int.random(in: 0...12, using: &rng)).map { _ in pieces.randomElement(using: &rng) ?? "" }.joined()
            }
            if let relay = try? RelayAddress(parsing: text) {
                // Whatever is accepted must survive a round trip and produce sane URLs.
                #expect((try? RelayAddress(parsing: relay.canonical)) == relay)
                #expect(relay.websocketURL.hasSuffix("/"))
                #expect(!relay.host.isEmpty)
            }
            let valid = RelayAddress.isValidChainRelayField(text)
            let parsed = RelayAddress.parseChainRelayField(text)
            if valid { #expect(parsed.count <= text.split(separator: "_").count) }
        }
    }

    /// Why a relay cannot be written on tfchain, named (issue 16: `a.fake.test` and
    /// `x_y.fake.test` were refused as "host names only", which they are).
    @Test func chainIncompatibilityNamesTheReason() throws {
        func reason(_ text: String) throws -> String? { try RelayAddress(parsing: text).chainIncompatibility }
        #expect(try reason("relay.grid.tf") == nil)
        #expect(try reason("ab.fake.test") == nil)
        #expect(try reason("http://relay.example.com")?.contains("plain-http") == true)
        #expect(try reason("relay.example.com:8443")?.contains("port") == true)
        #expect(try reason("x_y.fake.test")?.contains("'_'") == true)
        #expect(try reason("a.fake.test")?.contains("second character") == true)
        for text in ["relay.grid.tf", "a.fake.test", "x_y.fake.test", "http://r.example.com", "r1.example.com:1"] {
            let relay = try RelayAddress(parsing: text)
            #expect(relay.isChainCompatible == (relay.chainIncompatibility == nil))
        }
    }
}

