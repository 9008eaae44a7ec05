import Basics
import Foundation
import HTTPClient
import S3
import SigV4

/// Runs the real `s3transcode` binary, built next to this test bundle (`swift build --build-tests`
/// builds it; `S3TRANSCODE_BIN` overrides the path).
public struct CommandLineTool {
    public struct Outcome {
        public var status: Int32
        public var stdout: String
        public var stderr: String

        public init(status: Int32, stdout: String, stderr: String) {
            self.status = status
            self.stdout = stdout
            self.stderr = stderr
        }

        public var stdoutLines: [String] { stdout.split(separator: "\n").map(String.init) }
    }

    public struct Missing: Error, CustomStringConvertible {
        public var description: String

        public init(description: String) { self.description = description }
    }

    public static func binary() throws -> String {
        if let path = ProcessInfo.processInfo.environment["S3TRANSCODE_BIN"] { return path }
        var candidates: [URL] = []
        if let executable = Bundle.main.executableURL { candidates.append(executable.deletingLastPathComponent()) }
        candidates.append(Bundle.main.bundleURL.deletingLastPathComponent())
        candidates.append(URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent())
        for directory in candidates {
            let path = directory.appendingPathComponent("s3transcode").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        throw Missing(
            description: "the s3transcode binary is not next to the test bundle (looked in "
                + candidates.map(\.path).joined(separator: ", ") + "); build it with `swift build --build-tests`")
    }

    /// PATH, and the sanitizer options when Scripts/test.sh --sanitize set them (so that a sanitized
    /// binary reports to the run's report files, with its suppressions): a run that needs nothing else.
    public static func bareEnvironment() -> [String: String] {
        var environment = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]
        for name in ["ASAN_OPTIONS", "LSAN_OPTIONS", "TSAN_OPTIONS"] {
            if let value = ProcessInfo.processInfo.environment[name] { environment[name] = value }
        }
        return environment
    }

    /// The environment of a run against the SigV4-checking moto server: its key, its endpoint, and no
    /// AWS config files of the machine's own.
    public static func environment(for server: S3TestServer) -> [String: String] {
        environment(
            accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey, region: server.region,
            endpoint: server.endpoint)
    }

    /// The same for any S3 endpoint and key (a proxy in front of the server, say).
    public static func environment(
        accessKeyId: String, secretAccessKey: String, region: String, endpoint: String
    ) -> [String: String] {
        var environment: [String: String] = [:]
        // The sanitizer options too, so that a sanitized binary reports where Scripts/test.sh looks.
        for name in ["PATH", "HOME", "TMPDIR", "LANG", "ASAN_OPTIONS", "LSAN_OPTIONS", "TSAN_OPTIONS"] {
            if let value = ProcessInfo.processInfo.environment[name] { environment[name] = value }
        }
        environment["AWS_ACCESS_KEY_ID"] = accessKeyId
        environment["AWS_SECRET_ACCESS_KEY"] = secretAccessKey
        environment["AWS_REGION"] = region
        environment["AWS_ENDPOINT_URL_S3"] = endpoint
        environment["AWS_CONFIG_FILE"] = "/nonexistent/s3transcode-test-config"
        environment["AWS_SHARED_CREDENTIALS_FILE"] = "/nonexistent/s3transcode-test-credentials"
        environment["AWS_EC2_METADATA_DISABLED"] = "true"
        return environment
    }

    /// Starts the binary; stdout and stderr go to files (no pipe can fill up and block it).
    public final class Running: @unchecked Sendable {
        public let process = Process()
        public let directory: URL

        /// `executable` overrides the binary's path (a symbolic link to it named `bootstrap`, say).
        public init(_ arguments: [String], environment: [String: String], executable: String? = nil) throws {
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("s3t-cmd-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            _ = FileManager.default.createFile(atPath: directory.appendingPathComponent("out").path, contents: nil)
            _ = FileManager.default.createFile(atPath: directory.appendingPathComponent("err").path, contents: nil)
            process.executableURL = URL(fileURLWithPath: try executable ?? CommandLineTool.binary())
            process.arguments = arguments
            process.environment = environment
            process.standardInput = FileHandle.nullDevice
            process.standardOutput = try FileHandle(forWritingTo: directory.appendingPathComponent("out"))
            process.standardError = try FileHandle(forWritingTo: directory.appendingPathComponent("err"))
            try process.run()
        }

        public func signal(_ number: Int32) { kill(process.processIdentifier, number) }

        public func wait() -> Outcome {
            process.waitUntilExit()
            let read = { (name: String) in
                (try? String(contentsOf: self.directory.appendingPathComponent(name), encoding: .utf8)) ?? ""
            }
            let outcome = Outcome(status: process.terminationStatus, stdout: read("out"), stderr: read("err"))
            try? FileManager.default.removeItem(at: directory)
            return outcome
        }
    }

    public static func run(_ arguments: [String], environment: [String: String]) throws -> Outcome {
        try Running(arguments, environment: environment).wait()
    }
}

/// A client of the SigV4-checking moto server, to make buckets and check what a run left there.
public enum CommandMoto {
    public static let transport = CurlTransport()

    public static func client() throws -> (S3Client, S3TestServer) {
        let server = try S3TestServer.shared()
        let client = S3Client(
            configuration: .init(region: server.region, endpoint: S3Endpoint(custom: server.endpoint)),
            transport: transport,
            credentials: .fixed(Credentials(accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey)))
        return (client, server)
    }

    public static func bucket(_ client: S3Client, _ prefix: String) throws -> String {
        let bucket = S3TestServer.uniqueBucketName(prefix)
        try client.createBucket(bucket)
        return bucket
    }
}

/// A temporary folder of generated WAVs, removed at deinit.
public final class FixtureFolder {
    public let url: URL
    public var path: String { url.path }

    public init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("s3t-batch-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    /// Writes a WAV at `relativePath` (folders made as needed).
    public func writeWAV(_ relativePath: String, _ fixture: WAVFixture) throws {
        try write(relativePath, fixture.bytes())
    }

    public func write(_ relativePath: String, _ bytes: [UInt8]) throws {
        let file = url.appendingPathComponent(relativePath)
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(bytes).write(to: file)
    }

    /// A short mono WAV (0.25 s at 22.05 kHz) whose content depends on `seed`.
    public static func shortWAV(seed: Int) -> WAVFixture {
        WAVFixture(sampleRate: 22_050, channels: 1, frames: 5_512, frequency: 220 + Double(seed * 10))
    }

    /// A long plain-RIFF 16-bit WAV made quickly: one second of `fixture` (one second long) repeated
    /// `seconds` times behind a header whose sizes say so. (Computing every sample of minutes of audio
    /// in a debug build takes seconds per file.)
    public static func repeatedWAV(_ fixture: WAVFixture, seconds: Int) throws -> [UInt8] {
        try repeatedWAV(fixture.bytes(), seconds: seconds)
    }

    /// The same from one second of WAV bytes (a 44-byte RIFF header, then the samples).
    public static func repeatedWAV(_ one: [UInt8], seconds: Int) throws -> [UInt8] {
        guard one.count > 44, String(decoding: one[36..<40], as: UTF8.self) == "data" else {
            throw CommandLineTool.Missing(description: "repeatedWAV needs a plain 44-byte RIFF header")
        }
        let data = Array(one[44...])
        var bytes = Array(one[..<44])
        func put(_ value: Int, at offset: Int) {
            for index in 0..<4 { bytes[offset + index] = UInt8(truncatingIfNeeded: value >> (8 * index)) }
        }
        put(36 + data.count * seconds, at: 4)
        put(data.count * seconds, at: 40)
        bytes.reserveCapacity(44 + data.count * seconds)
        for _ in 0..<seconds { bytes += data }
        return bytes
    }

    /// `count` short WAVs spread over a top level and two nested folders; returns their relative paths.
    @discardableResult
    public func writeShortWAVs(_ count: Int) throws -> [String] {
        var paths: [String] = []
        for index in 0..<count {
            let folder = ["", "live/", "studio/2024/"][index % 3]
            let path = "\(folder)take \(index).wav"
            try writeWAV(path, FixtureFolder.shortWAV(seed: index))
            paths.append(path)
        }
        return paths
    }
}

/// The JSON objects of a `--json` run's stdout.
public func jsonObjects(_ outcome: CommandLineTool.Outcome) throws -> [[String: Any]] {
    try outcome.stdoutLines.map { line in
        guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            throw CommandLineTool.Missing(description: "a --json line is not an object: \(line)")
        }
        return object
    }
}

extension CommandLineTool.Running {
    /// Polls `bucket` until a multipart upload is in flight there while this run goes on, for at most
    /// `seconds`: the moment to interrupt a run that is uploading. False when none was ever seen.
    public func waitForMultipartUpload(in bucket: String, client: S3Client, seconds: Double = 60) throws -> Bool {
        let deadline = Timestamp().addingTimeInterval(seconds)
        while Timestamp() < deadline, process.isRunning {
            if try !client.listMultipartUploads(bucket: bucket).isEmpty { return true }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return false
    }
}
