import Foundation
import Testing
@testable import RMBProtocol

/// The hand-written JSON reader behind the Redis JSON API: the grammar of RFC 8259, exactly.
struct JSONReaderTests {
    func parse(_ text: String) throws(JSONMessageError) -> JSONValue { try JSONReader.parse(Array(text.utf8)) }

    @Test func valuesOfEveryKind() throws {
        let value = try parse(#" {"a":[1,-2.5e3,0,true,false,null],"b":{"c":"d"},"e":"" } "#)
        #expect(value == .object([
            "a": .array([.number("1"), .number("-2.5e3"), .number("0"), .bool(true), .bool(false), .null]),
            "b": .object(["c": .string("d")]),
            "e": .string(""),
        ]))
    }

    @Test func escapesAndUnicode() throws {
        #expect(try parse(#""q\"\\\/\b\f\n\r\t""#) == .string("q\"\\/\u{8}\u{c}\n\r\t"))
        #expect(try parse(#""\u00e9\u4e2d\ud83d\ude00 é""#) == .string("é中😀 é"))
        for bad in [#""\ud83d""#, #""\ude00""#, #""\ud83d\u0041""#, #""\x""#, #""\u12""#, #""\u12g4""#] {
            #expect(throws: JSONMessageError.self, "\(bad)") { try parse(bad) }
        }
    }

    @Test func refusesWhatTheGrammarRefuses() {
        let bad = [
            "", " ", "{", "}", "[1,]", "[,1]", #"{"a":1,}"#, #"{"a" 1}"#, #"{a:1}"#, "{'a':1}", "01", "1.", ".5", "-", "+1",
            "1e", "1e+", "tru", "nul", "NaN", "Infinity", #""abc"#, "\"a\u{1}b\"", #"{"a":1} x"#, "[1] [2]", "\u{feff}{}",
        ]
        for text in bad {
            #expect(throws: JSONMessageError.self, "\(text.debugDescription)") { try parse(text) }
        }
    }

    @Test func invalidUTF8InAStringIsRefused() {
        let bytes: [UInt8] = [0x22, 0x61, 0xff, 0x62, 0x22]
        #expect(throws: JSONMessageError.self) { try JSONReader.parse(bytes) }
        let escaped: [UInt8] = [0x22, 0x5c, 0x6e, 0xc3, 0x22]
        #expect(throws: JSONMessageError.self) { try JSONReader.parse(escaped) }
    }

    /// Hostile nesting gets an error, not a stack overflow.
    @Test func deepNestingIsBounded() throws {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: JSONMessageError.self) { try parse(deep) }
        let fine = String(repeating: "[", count: 60) + String(repeating: "]", count: 60)
        _ = try parse(fine)
    }

    /// Foundation's parser is the referee for texts both accept: same tree.
    @Test func agreesWithFoundationOnValidMessages() throws {
        let texts = [
            #"{"ver":1,"ref":"r1","cmd":"testme","exp":120,"dat":"aGk=","tag":null,"dst":[41,42],"ret":"q-5c1e","shm":"application/json","now":1700000000}"#,
            #"{"x":{"y":[{"z":"\u0041\n"}]},"n":17}"#,
        ]
        for text in texts {
            let ours = try parse(text)
            let theirs = try JSONSerialization.jsonObject(with: Data(text.utf8))
            #expect(Self.same(ours, theirs), "\(text)")
        }
    }

    private static func same(_ ours: JSONValue, _ theirs: Any) -> Bool {
        switch ours {
        case .null: return theirs is NSNull
        case .bool(let b): return (theirs as? Bool) == b
        case .number(let text): return (theirs as? NSNumber)?.stringValue == text
        case .string(let s): return (theirs as? String) == s
        case .array(let elements):
            guard let other = theirs as? [Any], other.count == elements.count else { return false }
            return zip(elements, other).allSatisfy { same($0, $1) }
        case .object(let members):
            guard let other = theirs as? [String: Any], other.count == members.count else { return false }
            return members.allSatisfy { key, value in other[key].map { same(value, $0) } ?? false }
        }
    }

    @Test func integerFieldsAreUnsignedAndInRange() {
        let base = #"{"ver":1,"cmd":"c","dat":"","dst":[1],"ret":"r","now":0,"exp":"#
        for exp in ["5.0", "1e3", "-1", "18446744073709551616", "\"5\"", "null"] {
            #expect(throws: JSONMessageError.self, "exp \(exp)") { try ClientRequest.parse(Array((base + exp + "}").utf8)) }
        }
        #expect((try? ClientRequest.parse(Array((base + "18446744073709551615}").utf8)))?.expiration == UInt64.max)
        #expect(throws: JSONMessageError.self) {
            try ClientRequest.parse(Array(#"{"ver":1,"cmd":"c","exp":5,"dat":"","dst":[4294967296],"ret":"r","now":0}"#.utf8))
        }
    }

    @Test func errObjectIsCheckedByKey() throws {
        let ok = try ClientResponse.parse(Array(#"{"ver":1,"ref":null,"dat":"","src":"1","shm":null,"now":0,"err":{"code":7,"message":"m"}}"#.utf8))
        #expect(ok.error == JSONError(code: 7, message: "m"))
        do {
            _ = try ClientResponse.parse(Array(#"{"ver":1,"dat":"","src":"1","now":0,"err":{"code":"7","message":"m"}}"#.utf8))
            Issue.record("accepted a string code")
        } catch {
            #expect(error.description.contains("key 'err'") && error.description.contains("'code'"), "\(error)")
        }
    }
}
