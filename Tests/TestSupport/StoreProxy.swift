import Foundation

/// A proxy (`Tests/TestSupport/store-proxy.py`) in front of a local S3 server that behaves like one
/// S3-compatible store: an SSE-KMS AWS bucket, Backblaze B2, GCS, Cloudflare R2 or Scaleway. The
/// script names, for each behaviour, the document or report it follows.
///
/// It listens on 127.0.0.1 only and stops by itself: when `stop()` or deinit closes its stdin, when
/// this test process exits, or after ten minutes.
public final class StoreProxy: @unchecked Sendable {  // every stored property is set once, in init
    public enum Personality: String, Sendable, CaseIterable {
        case kmsBucket = "kms"
        case backblazeB2 = "b2"
        case googleCloudStorage = "gcs"
        case cloudflareR2 = "r2"
        case scaleway = "scaleway"
    }

    /// One request the proxy saw.
    public struct Entry: Sendable, Equatable, CustomStringConvertible {
        public var operation: String
        public var method: String
        /// Answered by the proxy itself (the store refused it) rather than forwarded.
        public var refused: Bool
        public var status: Int
        /// The `x-amz-checksum-*` and `x-amz-sdk-checksum-algorithm` headers it carried.
        public var checksumHeaders: [String]

        public var description: String {
            "\(operation) \(refused ? "refused" : "pass") \(status) \(checksumHeaders.joined(separator: ","))"
        }
    }

    /// `http://127.0.0.1:PORT`.
    public let endpoint: String
    public let personality: Personality
    private let process: Process
    private let input: Pipe
    private let logPath: String

    /// Starts the proxy in front of `upstream` (`http://HOST:PORT`).
    public init(upstream: String, personality: Personality, lifetime: Int = 600) throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "store-proxy.py"
        ).path
        guard let hostPort = upstream.split(separator: "/").last, upstream.hasPrefix("http://") else {
            throw FaultProxy.StartError(
                description: "StoreProxy: the upstream must be http://HOST:PORT, not \(upstream)")
        }
        self.personality = personality
        logPath =
            FileManager.default.temporaryDirectory.appendingPathComponent("s3t-store-proxy-\(UUID().uuidString).log")
            .path
        (process, input, endpoint) = try FaultProxy.start(
            script: script,
            arguments: [
                "--upstream", String(hostPort), "--store", personality.rawValue,
                "--log", logPath, "--lifetime", String(lifetime),
            ])
    }

    deinit { stop() }

    /// Stops the proxy (closing its stdin) and waits for it.
    public func stop() {
        guard process.isRunning else { return }
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: logPath)
    }

    /// Every request so far, in the order answered.
    public func entries() -> [Entry] {
        guard let text = try? String(contentsOfFile: logPath, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ").map(String.init)
            guard fields.count == 6, Int(fields[0]) != nil, let status = Int(fields[4]) else { return nil }
            return Entry(
                operation: fields[1], method: fields[2], refused: fields[3] == "refused", status: status,
                checksumHeaders: fields[5] == "-" ? [] : fields[5].split(separator: ",").map(String.init))
        }
    }
}
