import Testing
@testable import RedisClient

@Suite struct RedisEndpointTests {
    @Test func parsesReferenceForms() throws {
        #expect(try RedisEndpoint(url: "redis://localhost:6379") == RedisEndpoint(host: "localhost", port: 6379))
        #expect(try RedisEndpoint(url: "redis://10.0.0.2") == RedisEndpoint(host: "10.0.0.2", port: 6379))
        #expect(try RedisEndpoint(url: "127.0.0.1:7000") == RedisEndpoint(host: "127.0.0.1", port: 7000))
        #expect(try RedisEndpoint(url: "myredis") == RedisEndpoint(host: "myredis", port: 6379))
        #expect(try RedisEndpoint(url: "redis://[::1]:6380") == RedisEndpoint(host: "::1", port: 6380))
        #expect(try RedisEndpoint(url: "redis://:s%40cret@host:1/2")
            == RedisEndpoint(host: "host", port: 1, password: "s@cret", database: 2))
        #expect(try RedisEndpoint(url: "redis://user:pw@host") == RedisEndpoint(host: "host", username: "user", password: "pw"))
        #expect(try RedisEndpoint(url: "REDIS://host:2/") == RedisEndpoint(host: "host", port: 2))
        #expect(RedisEndpoint.default.description == "redis://localhost:6379")
        #expect(try RedisEndpoint(url: "redis://:pw@h:5/3").description == "redis://h:5/3")
    }

    @Test func rejectsBadForms() {
        for bad in ["http://host:1", "redis://host:0", "redis://host:99999", "redis://host:abc", "::1:6379", "redis://host/x", "redis://[::1"] {
            #expect(throws: RedisError.self, "\(bad)") { try RedisEndpoint(url: bad) }
        }
    }
}
