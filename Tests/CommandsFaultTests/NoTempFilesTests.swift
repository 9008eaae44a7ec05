import Foundation
import S3
import TestSupport
import Testing

/// No temporary files, proven: whole S3 runs of the real binary (a local WAV to S3, and S3 to S3,
/// both multipart) under `strace -f`, tracing every system call that opens, creates, renames, links
/// or removes a path. Nothing may be opened for writing (O_WRONLY, O_RDWR, O_CREAT, O_TRUNC, creat)
/// on any path, and nothing may be created, renamed, linked or removed. There are no allowances:
/// the binary's stdout and stderr are descriptors it inherits (opened by the test, outside the
/// trace), and it opens nothing else for writing, not even /dev/null or /dev/tty.
///
/// The trace cannot pass vacuously: the run must succeed with the object in the bucket, the trace
/// must show the binary's own reads (its input file, or the libraries it loads) and calls made by
/// more than one thread (the upload threads' connects), and a planted write is recognised by the
/// same scanner.
@Suite("no temporary files: S3 runs under strace", .serialized)
struct NoTempFilesTests {
    static let traced =
        "open,openat,openat2,creat,mkdir,mkdirat,rename,renameat,renameat2,link,linkat,symlink,symlinkat,unlink,unlinkat,truncate"
        // Not writes: traced to show that strace followed the threads (the upload threads connect).
        + ",clone,clone3,connect"

    /// 400 s of 32 kHz mono at 320 kbit/s: 16 MB of MP3, four 5 MiB parts.
    static func wav() throws -> [UInt8] {
        try FixtureFolder.repeatedWAV(WAVFixture(sampleRate: 32_000, channels: 1, frequency: 440), seconds: 400)
    }

    struct Finding: CustomStringConvertible {
        var line: String
        var description: String { line }
    }

    /// The lines of an strace log that write to the file system: an open for writing or creating,
    /// or any creat, mkdir, rename, link, symlink, unlink or truncate (successful or not).
    static func writes(in log: String) -> [Finding] {
        log.split(separator: "\n").compactMap { raw in
            let line = String(raw)
            // ThreadSanitizer's runtime maps its read-only shadow through /tmp/tsan.rodata.PID, which it
            // creates and unlinks at start-up: only a --sanitize thread build makes it.
            if line.contains("\"/tmp/tsan.rodata.") { return nil }
            // `PID syscall(args) = result`, or `PID syscall(args <unfinished ...>` with -f.
            let body = line.drop { $0 != " " }.drop { $0 == " " }
            guard let paren = body.firstIndex(of: "(") else { return nil }
            let call = String(body[..<paren])
            switch call {
            case "open", "openat", "openat2":
                let flags = ["O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC", "O_TMPFILE"]
                return flags.contains { line.contains($0) } ? Finding(line: line) : nil
            case "creat", "mkdir", "mkdirat", "rename", "renameat", "renameat2", "link", "linkat", "symlink",
                "symlinkat",
                "unlink", "unlinkat", "truncate":
                return Finding(line: line)
            default:
                return nil
            }
        }
    }

    /// Runs the binary under strace; returns its outcome and the trace.
    static func traced(_ arguments: [String], environment: [String: String]) throws -> (CommandLineTool.Outcome, String)
    {
        let strace = "/usr/bin/strace"
        guard FileManager.default.isExecutableFile(atPath: strace) else {
            throw CommandLineTool.Missing(description: "strace is not installed (Scripts/setup.sh installs it)")
        }
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("s3t-strace-\(UUID().uuidString).log")
            .path
        defer { try? FileManager.default.removeItem(atPath: log) }
        var environment = environment
        environment["S3TRANSCODE_BIN"] = nil
        // LeakSanitizer cannot run under ptrace (a sanitized build would die at exit); the untraced
        // command tests check the same paths for leaks.
        environment["ASAN_OPTIONS"] = (environment["ASAN_OPTIONS"].map { $0 + ":" } ?? "") + "detect_leaks=0"
        let tool = try CommandLineTool.binary()
        let process = Process()
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("s3t-strace-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: output) }
        _ = FileManager.default.createFile(atPath: output.appendingPathComponent("out").path, contents: nil)
        _ = FileManager.default.createFile(atPath: output.appendingPathComponent("err").path, contents: nil)
        process.executableURL = URL(fileURLWithPath: strace)
        process.arguments = ["-f", "-qq", "-e", "trace=\(traced)", "-o", log, tool] + arguments
        process.environment = environment
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: output.appendingPathComponent("out"))
        process.standardError = try FileHandle(forWritingTo: output.appendingPathComponent("err"))
        try process.run()
        process.waitUntilExit()
        let read = { (name: String) in
            (try? String(contentsOf: output.appendingPathComponent(name), encoding: .utf8)) ?? ""
        }
        let outcome = CommandLineTool.Outcome(
            status: process.terminationStatus, stdout: read("out"), stderr: read("err"))
        return (outcome, try String(contentsOfFile: log, encoding: .utf8))
    }

    /// The checks every traced run must pass, the non-vacuity ones included.
    static func expectNoWrites(_ trace: String, reads path: String) {
        let findings = writes(in: trace)
        #expect(
            findings.isEmpty, "written to the file system: \(findings.prefix(10).map(\.line).joined(separator: " | "))")
        let lines = trace.split(separator: "\n")
        #expect(
            lines.contains { $0.contains("\"\(path)\"") && $0.contains("O_RDONLY") },
            "the trace never shows \(path) opened")
        let threads = Set(lines.compactMap { $0.split(separator: " ").first })
        #expect(threads.count > 1, "strace -f followed only one thread: \(lines.suffix(5).joined(separator: " | "))")
    }

    @Test("a local WAV to S3 (multipart): nothing opened for writing, nothing created or removed")
    func localToS3() throws {
        let (client, server) = try CommandMoto.client()
        let bucket = try CommandMoto.bucket(client, "notemp")
        let folder = try FixtureFolder()
        try folder.write("in.wav", try NoTempFilesTests.wav())
        let input = folder.url.appendingPathComponent("in.wav").path
        let (outcome, trace) = try NoTempFilesTests.traced(
            [input, "s3://\(bucket)/out.mp3", "--bitrate", "320", "--json"],
            environment: CommandLineTool.environment(for: server))
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let report = try #require(try jsonObjects(outcome).first)
        #expect((report["parts"] as? Int ?? 0) >= 3, "not a multipart upload: \(outcome.stdout)")
        #expect(try client.listAllObjects(bucket: bucket).map(\.key) == ["out.mp3"])
        NoTempFilesTests.expectNoWrites(trace, reads: input)
    }

    @Test("S3 to S3 (multipart): nothing opened for writing, nothing created or removed")
    func s3ToS3() throws {
        let (client, server) = try CommandMoto.client()
        let bucket = try CommandMoto.bucket(client, "notemp-s3")
        _ = try client.putObject(bucket: bucket, key: "in/song.wav", body: try NoTempFilesTests.wav())
        let (outcome, trace) = try NoTempFilesTests.traced(
            ["s3://\(bucket)/in/song.wav", "s3://\(bucket)/out/song.mp3", "--bitrate", "320", "--json"],
            environment: CommandLineTool.environment(for: server))
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let report = try #require(try jsonObjects(outcome).first)
        #expect((report["parts"] as? Int ?? 0) >= 3, "not a multipart upload: \(outcome.stdout)")
        #expect(try Set(client.listAllObjects(bucket: bucket).map(\.key)) == ["in/song.wav", "out/song.mp3"])
        // The binary itself is read (the dynamic loader maps FFmpeg's libraries): proof that the
        // trace covers its opens at all.
        NoTempFilesTests.expectNoWrites(trace, reads: "/etc/ld.so.cache")
    }

    @Test("the scanner finds each kind of write")
    func scannerFindsWrites() {
        let planted = """
            101 openat(AT_FDCWD, "/lib/x86_64-linux-gnu/libc.so.6", O_RDONLY|O_CLOEXEC) = 3
            101 openat(AT_FDCWD, "/tmp/x", O_WRONLY|O_CREAT|O_TRUNC, 0666) = 4
            102 openat(AT_FDCWD, "/tmp/y", O_RDWR|O_CLOEXEC <unfinished ...>
            102 open("/tmp/z", O_RDONLY|O_CREAT, 0600) = 5
            103 openat(AT_FDCWD, "/tmp", O_RDWR|O_TMPFILE, 0600) = 6
            103 creat("/tmp/c", 0644) = 7
            103 mkdir("/tmp/d", 0777) = -1 EEXIST (File exists)
            103 renameat2(AT_FDCWD, "/tmp/a", AT_FDCWD, "/tmp/b", 0) = 0
            103 unlinkat(AT_FDCWD, "/tmp/b", 0) = 0
            103 linkat(AT_FDCWD, "/tmp/a", AT_FDCWD, "/tmp/l", 0) = 0
            103 symlink("/tmp/a", "/tmp/s") = 0
            103 truncate("/tmp/a", 0) = 0
            """
        #expect(NoTempFilesTests.writes(in: planted).count == 11)
    }
}
