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
    public var endpoint: String { proxy.endpoint }
    public let personality: Personality
    private let proxy: ProxyProcess

    /// Starts the proxy in front of `upstream` (`http://HOST:PORT`).
    public init(upstream: String, personality: Personality, lifetime: Int = 600) throws {
        self.personality = personality
        proxy = try ProxyProcess(
            script: "store-proxy.py", upstream: upstream,
            arguments: ["--store", personality.rawValue, "--lifetime", String(lifetime)])
    }

    /// Stops the proxy (closing its stdin) and waits for it.
    public func stop() { proxy.stop() }

    /// Every request so far, in the order answered.
    public func entries() -> [Entry] {
        proxy.logLines().compactMap { fields in
            guard let status = Int(fields[4]) else { return nil }
            return Entry(
                operation: fields[1], method: fields[2], refused: fields[3] == "refused", status: status,
                checksumHeaders: fields[5] == "-" ? [] : fields[5].split(separator: ",").map(String.init))
        }
    }
}
