import Foundation
import Synchronization

/// The local S3 servers the integration tests talk to (two moto servers and LocalStack's S3 on
/// 127.0.0.1, see `Scripts/s3-server.sh`): one moto checking SigV4 signatures, one checking nothing.
///
/// With `S3T_TEST_BACKEND=localstack` the same tests talk to LocalStack instead, a second,
/// independent S3 implementation that verifies Content-MD5, part and full-object CRCs and presigned
/// URL signatures (`Scripts/test.sh` runs the command suites that way too): one suite, two servers.
///
/// `S3TestServer.shared()` takes the configuration from the environment when `Scripts/test.sh`
/// started the servers (`S3T_TEST_ENDPOINT`, …); otherwise it runs the script itself, once per test
/// process, and the servers stop when the process exits. If they cannot start it throws, with the
/// reason, so the test fails: an integration test never skips silently.
public struct S3TestServer: Sendable {
    /// `http://127.0.0.1:PORT` of the server that checks signatures.
    public let endpoint: String
    public let accessKeyId: String
    public let secretAccessKey: String
    public let region: String
    /// `http://127.0.0.1:PORT` of the server without signature checks (keys with `+`, `=` or
    /// non-ASCII, percent-encoded query values, presigned URLs).
    public let noAuthEndpoint: String
    /// Which implementation answers.
    public var backend: Backend = .moto

    public enum Backend: String, Sendable {
        case moto, localstack
    }

    /// The backend this test process talks to: `S3T_TEST_BACKEND` (`moto` when unset). For traits
    /// such as `.enabled(if: S3TestServer.selectedBackend == .moto)` on a test of a moto-only
    /// behaviour, which Swift Testing then reports as skipped, with the reason, in the LocalStack run.
    public static var selectedBackend: Backend {
        Backend(rawValue: ProcessInfo.processInfo.environment["S3T_TEST_BACKEND"] ?? "") ?? .moto
    }

    public struct StartError: Error, CustomStringConvertible {
        public let description: String
    }

    private static let cached = Mutex<Result<S3TestServer, StartError>?>(nil)

    /// The servers' configuration, starting them on first use when the environment does not name them.
    public static func shared() throws -> S3TestServer {
        try cached.withLock { cached in
            if cached == nil { cached = Result { try locateOrStart() }.mapError { $0 as! StartError } }
            return try cached!.get()
        }
    }

    /// A bucket name unique to this process and call: `prefix-<pid>-<n>`.
    public static func uniqueBucketName(_ prefix: String) -> String {
        let n = counter.add(1, ordering: .relaxed).newValue
        return "\(prefix)-\(getpid())-\(n)".lowercased()
    }

    private static let counter = Atomic<Int>(0)

    private static func locateOrStart() throws -> S3TestServer {
        if let server = fromEnvironment(ProcessInfo.processInfo.environment) { return server }
        let root = repositoryRoot()
        let script = root.appendingPathComponent("Scripts/s3-server.sh").path
        guard FileManager.default.fileExists(atPath: script) else {
            throw StartError(description: "cannot start the test S3 server: \(script) is missing")
        }
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("s3transcode-tests-\(getpid())").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [script, "start", "--watch", String(getpid())]
        var environment = ProcessInfo.processInfo.environment
        environment["S3T_SERVER_DIR"] = directory
        process.environment = environment
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        do {
            try process.run()
        } catch {
            throw StartError(description: "cannot start the test S3 server: running \(script) failed: \(error)")
        }
        let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        _ = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let reason =
                errorText.split(separator: "\n").last.map(String.init) ?? "exit status \(process.terminationStatus)"
            throw StartError(
                description:
                    "cannot start the test S3 server (Scripts/s3-server.sh start): \(reason); run Scripts/setup.sh, or Scripts/test.sh"
            )
        }
        let envFile = directory + "/env"
        guard let text = try? String(contentsOfFile: envFile, encoding: .utf8),
            let server = fromEnvironment(
                parseEnvFile(text).merging(
                    ["S3T_TEST_BACKEND": ProcessInfo.processInfo.environment["S3T_TEST_BACKEND"] ?? ""]) { $1 })
        else {
            throw StartError(description: "the test S3 server started but \(envFile) is missing or incomplete")
        }
        return server
    }

    static func fromEnvironment(_ env: [String: String]) -> S3TestServer? {
        if env["S3T_TEST_BACKEND"] == Backend.localstack.rawValue {
            // LocalStack's default account: any key id works, and presigned URLs are checked with
            // the secret "test".
            guard let endpoint = env["S3T_TEST_LOCALSTACK_ENDPOINT"], !endpoint.isEmpty else { return nil }
            return S3TestServer(
                endpoint: endpoint, accessKeyId: "test", secretAccessKey: "test",
                region: env["S3T_TEST_REGION"] ?? "us-east-1", noAuthEndpoint: endpoint, backend: .localstack)
        }
        guard let endpoint = env["S3T_TEST_ENDPOINT"], !endpoint.isEmpty,
            let key = env["S3T_TEST_ACCESS_KEY_ID"], let secret = env["S3T_TEST_SECRET_ACCESS_KEY"],
            let noAuth = env["S3T_TEST_NOAUTH_ENDPOINT"]
        else { return nil }
        return S3TestServer(
            endpoint: endpoint, accessKeyId: key, secretAccessKey: secret,
            region: env["S3T_TEST_REGION"] ?? "us-east-1", noAuthEndpoint: noAuth)
    }

    /// `export NAME=value` lines.
    static func parseEnvFile(_ text: String) -> [String: String] {
        var values: [String: String] = [:]
        for line in text.split(separator: "\n") {
            var line = Substring(line)
            if line.hasPrefix("export ") { line = line.dropFirst("export ".count) }
            guard let equals = line.firstIndex(of: "=") else { continue }
            values[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        return values
    }

    /// This file is `<root>/Tests/TestSupport/S3TestServer.swift`.
    private static func repositoryRoot() -> URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
    }
}
