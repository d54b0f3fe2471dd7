import ArgumentParser
import Testing
@testable import RMBRelay

/// `rmb-relay` flag parsing and validation (no process, no Redis).
@Suite struct RelayCommandTests {
    private func configuration(_ arguments: [String]) throws -> RelayConfiguration {
        let command = try RelayCommand.parse(["--twins", "twins.toml"] + arguments)
        let address = try #require(ListenAddress(command.listen))
        return command.makeConfiguration(address)
    }

    @Test func federationReclaimIdleReachesTheConfiguration() throws {
        #expect(try configuration([]).federationReclaimIdle == .seconds(15))
        #expect(try configuration(["--federation-reclaim-idle", "40"]).federationReclaimIdle == .seconds(40))
        #expect(try configuration(["--federation-reclaim-idle", "40"]).federationConsumerExpiry == .seconds(400))
    }

    @Test(arguments: ["0", "-5"])
    func federationReclaimIdleRejectsZeroAndNegative(_ value: String) {
        do {
            _ = try RelayCommand.parse(["--twins", "twins.toml", "--federation-reclaim-idle", value])
            Issue.record("accepted \(value)")
        } catch {
            let message = RelayCommand.message(for: error)
            #expect(message.contains("--federation-reclaim-idle must be > 0 seconds, got \(value)"), "\(message)")
        }
    }

    @Test func federationReclaimIdleIsInTheHelp() {
        #expect(RelayCommand.helpMessage().contains("--federation-reclaim-idle"))
    }
}
