import Foundation
import RMBTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

struct ProcessControlTests {
    /// A socket another thread opened without `O_CLOEXEC` must not live on in a child: closed
    /// here, its peer would see no FIN while the child runs.
    @Test("a spawned child holds no descriptor but its standard three")
    func aChildInheritsOnlyItsStandardDescriptors() throws {
        let socketFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(socketFD > 2)
        defer { close(socketFD) }
        let pid = try ProcessControl.spawn(["/bin/sleep", "10"])
        defer { _ = ProcessControl.terminate(pid, signal: SIGKILL) }
        let descriptors = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").compactMap { Int32($0) }.sorted()
        #expect(descriptors == [0, 1, 2], "the child holds \(descriptors); the parent's socket is \(socketFD)")
    }
}
