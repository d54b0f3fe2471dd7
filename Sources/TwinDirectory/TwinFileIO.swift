#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The few POSIX file operations the local twin file needs, done directly so we control
/// durability: Foundation's atomic write does not fsync the file or its directory.
enum TwinFileIO {
    /// Identity and version of a file, cheap to compare for "did it change?".
    struct Signature: Equatable, Sendable {
        var device: UInt64
        var inode: UInt64
        var size: Int64
        var modifiedSeconds: Int
        var modifiedNanoseconds: Int
    }

    enum Failure: Error, Equatable {
        case notFound
        case failed(String)
    }

    /// Signature of the file at `path`, or `nil` if it cannot be stat'ed.
    static func signature(of path: String) -> Signature? {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        return signature(status)
    }

    /// Reads the whole file (up to `maximumSize` bytes) and the signature of exactly what was read.
    static func read(_ path: String, maximumSize: Int) throws(Failure) -> (bytes: [UInt8], signature: Signature) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw errno == ENOENT ? .notFound : .failed(lastError()) }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw .failed(lastError()) }
        guard status.st_mode & S_IFMT == S_IFREG else { throw .failed("not a regular file") }
        guard Int(status.st_size) <= maximumSize else { throw .failed("larger than \(maximumSize) bytes") }

        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { posixRead(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw .failed(lastError())
            }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
            guard bytes.count <= maximumSize else { throw .failed("larger than \(maximumSize) bytes") }
        }
        return (bytes, signature(status))
    }

    /// Replaces the file at `path` so that readers and crashes see either the old or the new
    /// content, never a mix: write a temporary file in the same directory, fsync it, rename it
    /// over the target, then fsync the directory so the rename itself is durable. An existing
    /// file's permissions are kept; a symlink is followed and its target replaced.
    static func writeAtomically(_ bytes: [UInt8], to path: String) throws(Failure) {
        let target = resolvedTarget(path)
        let (directory, name) = split(target)
        let temporary = "\(directory)/.\(name).tmp-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"

        var existing = stat()
        let existingMode: mode_t? = stat(target, &existing) == 0 ? existing.st_mode & 0o7777 : nil
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, existingMode ?? 0o644)
        guard fd >= 0 else { throw .failed("cannot create temporary file in \(directory): \(lastError())") }
        if let existingMode { fchmod(fd, existingMode) }   // open() applied the umask; keep the old mode exactly

        var renamed = false
        defer { if !renamed { unlink(temporary) } }
        do throws(Failure) {
            try writeAll(bytes, to: fd)
        } catch {
            close(fd)
            throw error
        }
        guard close(fd) == 0 else { throw .failed("close: \(lastError())") }
        guard rename(temporary, target) == 0 else { throw .failed("rename: \(lastError())") }
        renamed = true

        let directoryFD = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard directoryFD >= 0 else { throw .failed("cannot open directory \(directory) to fsync: \(lastError())") }
        defer { close(directoryFD) }
        guard fsync(directoryFD) == 0 else { throw .failed("fsync of directory \(directory): \(lastError())") }
    }

    /// Writes every byte (retrying short writes and EINTR), then fsyncs.
    private static func writeAll(_ bytes: [UInt8], to fd: Int32) throws(Failure) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { posixWrite(fd, $0.baseAddress.map { $0 + offset }, bytes.count - offset) }
            if written < 0 {
                if errno == EINTR { continue }
                throw .failed(lastError())
            }
            offset += written
        }
        guard fsync(fd) == 0 else { throw .failed("fsync: \(lastError())") }
    }

    /// Wall-clock seconds, for the "modified too recently to trust the timestamp" check.
    static func wallClockSeconds() -> Int {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int(now.tv_sec)
    }

    // MARK: Private

    private static func signature(_ status: stat) -> Signature {
        #if canImport(Darwin)
        let modified = status.st_mtimespec
        #else
        let modified = status.st_mtim
        #endif
        return Signature(
            device: UInt64(truncatingIfNeeded: status.st_dev),
            inode: UInt64(truncatingIfNeeded: status.st_ino),
            size: Int64(status.st_size),
            modifiedSeconds: Int(modified.tv_sec),
            modifiedNanoseconds: Int(modified.tv_nsec)
        )
    }

    private static func resolvedTarget(_ path: String) -> String {
        var status = stat()
        guard lstat(path, &status) == 0, status.st_mode & S_IFMT == S_IFLNK,
              let resolved = realpath(path, nil)
        else { return path }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    private static func split(_ path: String) -> (directory: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let directory = String(path[..<slash])
        return (directory.isEmpty ? "/" : directory, String(path[path.index(after: slash)...]))
    }

    private static func lastError() -> String {
        String(cString: strerror(errno))
    }
}

// `read`/`write` are shadowed by methods in some scopes; these names always mean the syscalls.
@inline(__always)
private func posixRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    read(fd, buffer, count)
}

@inline(__always)
private func posixWrite(_ fd: Int32, _ buffer: UnsafeRawPointer?, _ count: Int) -> Int {
    write(fd, buffer, count)
}
