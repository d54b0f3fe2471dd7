import Foundation
import RMBProtocol
import RMBTestSupport
import Testing

/// `-V`, the reference's short version flag, works like `--version` on both daemons (issue 18).
@Suite struct VersionFlagTests {
    @Test(arguments: ["rmb-peer", "rmb-relay"])
    func shortVersionFlagPrintsTheVersion(binary: String) throws {
        let long = try run(binary, "--version")
        let short = try run(binary, "-V")
        #expect(long.status == 0 && !long.output.isEmpty, "\(long)")
        #expect(short.status == 0, "\(short)")
        #expect(short.output == long.output)
    }

    /// One version everywhere (RMBVersion): the three executables print the same.
    @Test func everyExecutablePrintsTheOneVersion() throws {
        for binary in ["rmb-peer", "rmb-relay", "rmb"] {
            let output = try run(binary, "--version")
            #expect(output.status == 0 && output.output.trimmingCharacters(in: .whitespacesAndNewlines) == RMBVersion.semantic, "\(binary): \(output)")
        }
    }

    private func run(_ binary: String, _ argument: String) throws -> CommandOutput {
        try CommandOutput.run(LocalNetwork.binDirectory.appendingPathComponent(binary).path, [argument])
    }
}
