import Basics

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The time, injected: credential expiry, refresh windows and STS session names read it, so tests
/// run on a clock they move themselves.
public protocol WallClock: Sendable {
    func now() -> Timestamp
}

public struct SystemClock: WallClock {
    public init() {}
    public func now() -> Timestamp { Timestamp() }
}

/// Reads the files configuration comes from (shared config and credentials files, token files).
/// Injected so tests can serve files from memory; `LocalFiles` reads the disk.
public protocol FileReader: Sendable {
    /// The file's bytes, or `nil` when there is no such file. Throws when it exists but cannot be read.
    func read(_ path: String) throws -> [UInt8]?
}

/// Reads files with the C library (no Foundation).
public struct LocalFiles: FileReader {
    public init() {}

    public func read(_ path: String) throws -> [UInt8]? {
        guard let file = fopen(path, "rb") else {
            let code = errno
            if code == ENOENT || code == ENOTDIR { return nil }
            throw ConfigurationError(
                .invalidConfiguration,
                "cannot read \(path): \(String(cString: strerror(code))); check its permissions")
        }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
            if count > 0 { bytes.append(contentsOf: chunk[0..<count]) }
            if count < chunk.count {
                if ferror(file) != 0 {
                    throw ConfigurationError(.invalidConfiguration, "cannot read \(path): I/O error; check the file")
                }
                return bytes
            }
        }
    }
}

/// Files held in memory, by path: for tests.
public struct InMemoryFiles: FileReader {
    public var files: [String: String]
    public init(_ files: [String: String]) { self.files = files }
    public func read(_ path: String) throws -> [UInt8]? { files[path].map { Array($0.utf8) } }
}

/// Runs a `credential_process` command. Injected so tests can answer without a process.
public protocol CommandRunner: Sendable {
    /// Runs `command` through `/bin/sh -c` and returns its exit status and standard output.
    /// Standard error goes to the caller's standard error (as the AWS CLI does).
    func run(_ command: String, environment: [String: String]) throws -> (status: Int32, output: [UInt8])
}

/// Runs commands with `posix_spawn` (no Foundation `Process`).
public struct ShellCommandRunner: CommandRunner {
    public init() {}

    public func run(_ command: String, environment: [String: String]) throws -> (status: Int32, output: [UInt8]) {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else {
            throw ConfigurationError(
                .invalidConfiguration,
                "cannot run credential_process: pipe failed (\(String(cString: strerror(errno))))")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        posix_spawn_file_actions_addclose(&actions, fds[0])
        posix_spawn_file_actions_addclose(&actions, fds[1])

        let argv: [UnsafeMutablePointer<CChar>?] =
            ["/bin/sh", "-c", command].map { (text: String) in strdup(text) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] =
            environment.map { (entry: (key: String, value: String)) in
                strdup(entry.key + "=" + entry.value)
            } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, "/bin/sh", &actions, nil, argv, envp)
        close(fds[1])
        guard spawned == 0 else {
            close(fds[0])
            throw ConfigurationError(
                .invalidConfiguration,
                "cannot run credential_process: \(String(cString: strerror(spawned))); check the command")
        }
        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fds[0], $0.baseAddress, $0.count) }
            if count > 0 {
                output.append(contentsOf: buffer[0..<count])
            } else if count < 0 && errno == EINTR {
                continue
            } else {
                break
            }
        }
        close(fds[0])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        // WIFEXITED / WEXITSTATUS are macros: decode the wait status by hand.
        let exited = (status & 0x7F) == 0
        return (exited ? (status >> 8) & 0xFF : 128 + (status & 0x7F), output)
    }
}
