import Foundation
import RMBTestSupport

/// Typed accessors for the JSON test vectors (JSONSerialization output).
typealias JSONObject = [String: Any]

extension Dictionary where Key == String, Value == Any {
    func object(_ key: String) throws -> JSONObject {
        guard let value = self[key] as? JSONObject else { throw Fixtures.FixtureError.missing(key) }
        return value
    }

    func objects(_ key: String) throws -> [JSONObject] {
        guard let value = self[key] as? [JSONObject] else { throw Fixtures.FixtureError.missing(key) }
        return value
    }

    func string(_ key: String) throws -> String {
        guard let value = self[key] as? String else { throw Fixtures.FixtureError.missing(key) }
        return value
    }

    func int(_ key: String) throws -> Int {
        guard let value = self[key] as? Int else { throw Fixtures.FixtureError.missing(key) }
        return value
    }

    func hex(_ key: String) throws -> [UInt8] {
        [UInt8](testHex: try string(key))
    }
}

/// Identities from identities.json keyed by name (`dev`, `alpha`, `beta`).
func identitiesByName() throws -> [String: JSONObject] {
    let identities = try Fixtures.json("vectors/identities.json").objects("identities")
    var byName: [String: JSONObject] = [:]
    for identity in identities { byName[try identity.string("name")] = identity }
    return byName
}
