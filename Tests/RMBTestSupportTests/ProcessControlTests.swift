import Foundation
import RMBTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

struct ProcessControlTests {
    /// A socket another thread opened without `O_CLOEXEC` must not live on in a child: closed
    /// here, its peer would see no FIN while the child runs. Only the child's own files may sit
    /// beyond its standard three: while it starts it briefly holds files it opens itself (its
    /// libraries, the locale files of `setlocale`; a CI run under load read `/proc` at that
    /// moment and saw a fourth descriptor).
    @Test("a spawned child holds no descriptor of its parent but its standard three")
    func aChildInheritsOnlyItsStandardDescriptors() throws {
        let socketFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(socketFD > 2)
        defer { close(socketFD) }
        let socketLink = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(socketFD)")
        let pid = try ProcessControl.spawn(["/bin/sleep", "10"])
        defer { _ = ProcessControl.terminate(pid, signal: SIGKILL) }
        let descriptors = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").compactMap { Int32($0) }.sorted()
        #expect(descriptors.starts(with: [0, 1, 2]), "the child holds \(descriptors)")
        // Beyond the three: nothing a starting program opens by itself (sockets, pipes, event
        // or epoll descriptors), and above all not the parent's socket.
        let extra = descriptors.filter { $0 > 2 }.compactMap { try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\($0)") }
        #expect(!extra.contains(socketLink), "the child holds the parent's socket \(socketLink)")
        let inherited = extra.filter { $0.hasPrefix("socket:") || $0.hasPrefix("pipe:") || $0.hasPrefix("anon_inode:") }
        #expect(inherited.isEmpty, "the child holds \(inherited)")
    }
}
