import Basics
import HTTPClient
import SigV4
import Synchronization
import Threads

/// A synchronous, thread-safe S3 client: every operation signs its request with SigV4, sends it
/// through an `HTTPTransport` on the calling thread, retries as the AWS "standard" mode does, and
/// turns S3's answers into values or one-line `S3Error`s.
///
/// Call it from dedicated threads, never from Swift's cooperative pool: every call blocks.
///
/// - Every request carries `x-amz-content-sha256`, the real SHA-256 of its body (operations with a
///   body accept one already computed, so an uploader can hash while it fills a part).
/// - A bucket in another region (301 PermanentRedirect with `x-amz-bucket-region`, or 400
///   AuthorizationHeaderMalformed naming the region) is followed once and remembered per bucket.
/// - RequestTimeTooSkewed corrects the signing clock from the response's `Date`, then retries;
///   ExpiredToken refreshes the credentials, then retries.
/// - `logger` gets one line per request (method, host, path, status, attempt, duration) with any
///   query string redacted, and a line for each region redirect or clock correction. Never a header.
public final class S3Client: Sendable {
    public struct Configuration: Sendable {
        /// The region requests are signed for (and, on Amazon S3, sent to) unless a bucket was
        /// found elsewhere.
        public var region: String
        public var endpoint: S3Endpoint
        public var retry: RetryPolicy

        public init(region: String, endpoint: S3Endpoint = .aws, retry: RetryPolicy = RetryPolicy()) {
            self.region = region
            self.endpoint = endpoint
            self.retry = retry
        }
    }

    /// Supplies credentials for each attempt. `forceRefresh` is true after S3 answered ExpiredToken:
    /// fetch new ones rather than returning what is cached.
    public struct CredentialsSource: Sendable {
        let fetch: @Sendable (_ forceRefresh: Bool) throws -> Credentials

        public init(_ fetch: @escaping @Sendable (_ forceRefresh: Bool) throws -> Credentials) {
            self.fetch = fetch
        }

        public static func fixed(_ credentials: Credentials) -> CredentialsSource {
            CredentialsSource { _ in credentials }
        }
    }

    /// The clock, the sleep between attempts and the random source of the backoff jitter.
    public struct Timing: Sendable {
        public var now: @Sendable () -> Timestamp
        public var sleep: @Sendable (_ seconds: Double) -> Void
        /// Uniform in [0, 1).
        public var random: @Sendable () -> Double

        public init(
            now: @escaping @Sendable () -> Timestamp, sleep: @escaping @Sendable (_ seconds: Double) -> Void,
            random: @escaping @Sendable () -> Double
        ) {
            self.now = now
            self.sleep = sleep
            self.random = random
        }

        public static let system = Timing(
            now: { Timestamp() },
            sleep: { seconds in if seconds > 0 { OSThread.sleep(forTimeInterval: seconds) } },
            random: { Double.random(in: 0..<1) })
    }

    public typealias Logger = @Sendable (_ line: String) -> Void

    public let configuration: Configuration
    public let transport: any HTTPTransport
    private let credentials: CredentialsSource
    private let timing: Timing
    private let logger: Logger?
    let cancellation: CancellationFlag?
    private let quota: RetryQuota
    /// Buckets found in another region than `configuration.region`.
    private let bucketRegions = Mutex<[String: String]>([:])
    /// Seconds to add to `timing.now()` when signing (S3's clock minus ours).
    private let clockOffset = Mutex<Double>(0)

    /// - Parameters:
    ///   - cancellation: when set, no new attempt starts and backoff sleeps end early; pass the same
    ///     flag to `CurlTransport` to stop transfers in flight.
    public init(
        configuration: Configuration,
        transport: any HTTPTransport,
        credentials: CredentialsSource,
        timing: Timing = .system,
        logger: Logger? = nil,
        cancellation: CancellationFlag? = nil
    ) {
        self.configuration = configuration
        self.transport = transport
        self.credentials = credentials
        self.timing = timing
        self.logger = logger
        self.cancellation = cancellation
        self.quota = RetryQuota(capacity: configuration.retry.quotaCapacity)
    }

    /// The region requests for `bucket` are signed for: the configured one, or where S3 said the
    /// bucket lives.
    public func region(for bucket: String?) -> String {
        guard let bucket else { return configuration.region }
        return bucketRegions.withLock { $0[bucket] } ?? configuration.region
    }

    /// The current correction of the signing clock, in seconds.
    public var clockSkew: Double { clockOffset.withLock { $0 } }

    /// The time requests are signed with: our clock corrected by what RequestTimeTooSkewed taught.
    public func signingDate() -> Timestamp {
        timing.now().addingTimeInterval(clockSkew)
    }

    /// The URL of an object (no query), as requests for it are sent.
    public func objectURL(bucket: String, key: String) -> String {
        configuration.endpoint.url(bucket: bucket, key: key, encodedQuery: "", region: region(for: bucket))
    }

    /// A presigned URL for `method` on an object, valid `expires` seconds (1…604800), signed with
    /// the current credentials. The result is a secret: show it only where it was asked for.
    public func presignedURL(method: String, bucket: String, key: String, expires: Int) throws -> String {
        let region = region(for: bucket)
        let signer = SigV4Signer(credentials: try credentials.fetch(false), region: region)
        return signer.presignedURL(
            method: method, url: objectURL(bucket: bucket, key: key), expires: expires, date: signingDate())
    }

    // MARK: - The request loop

    /// One S3 request, before signing.
    struct Request {
        var operation: String
        var method: String
        var bucket: String?
        var key: String?
        /// Unencoded names and values, in the order sent; a `nil` value gives `name=`.
        var query: [(name: String, value: String?)] = []
        var headers: [(name: String, value: String)] = []
        /// The body's hex SHA-256 when the caller has it; computed here otherwise.
        var payloadSHA256: String? = nil
        /// Attempts in all; the policy's `maxAttempts` when nil.
        var maxAttempts: Int? = nil
        /// A 2xx whose body is an `<Error>` document is a failure (CompleteMultipartUpload, CopyObject).
        var errorDocumentMeansFailure = false
        /// Cleanup a cancelled run still owes (AbortMultipartUpload): the cancellation flag neither
        /// refuses nor stops it, provided the transport is a `CancellableTransport`.
        var survivesCancellation = false
    }

    /// Sends `request` until it succeeds, fails for good, or runs out of attempts.
    ///
    /// With `receive`, a 2xx body is streamed to it (`HTTPTransport.send(_:body:receive:)`) and the
    /// returned response's body is empty. An attempt that fails before any of the body arrived is
    /// retried as any other; once `receive` has had a chunk, a lost connection is not retried here:
    /// the `TransportError` itself is thrown, and the caller, who knows how far it got, asks for the rest.
    func perform(
        _ request: Request, body: UnsafeRawBufferPointer? = nil,
        receive: ((HTTPResponse, UnsafeRawBufferPointer) -> Bool)? = nil
    ) throws -> HTTPResponse {
        let maxAttempts = max(1, request.maxAttempts ?? configuration.retry.maxAttempts)
        let payloadHash = request.payloadSHA256 ?? body.map { PayloadHasher.hash($0) } ?? PayloadHasher.emptyPayloadHash
        let query = S3Path.query(request.query)
        var attempt = 1
        var followedRedirect = false
        var refreshCredentials = false
        var retryTokens = 0

        while true {
            if !request.survivesCancellation, cancellation?.isCancelled == true {
                throw S3Error.transport(
                    operation: request.operation, bucket: request.bucket, key: request.key,
                    error: TransportError(.cancelled, "cancelled"), attempts: attempt)
            }
            let region = region(for: request.bucket)
            let url = configuration.endpoint.url(
                bucket: request.bucket, key: request.key, encodedQuery: query, region: region)
            let signingCredentials = try credentials.fetch(refreshCredentials)
            let signer = SigV4Signer(credentials: signingCredentials, region: region)
            refreshCredentials = false
            let headers = signer.signedHeaders(
                method: request.method, url: url, headers: request.headers, payloadHash: payloadHash,
                date: signingDate())

            let started = timing.now()
            let response: HTTPResponse
            var streamed = false
            do {
                let httpRequest = HTTPRequest(method: request.method, url: url, headers: headers)
                if let receive {
                    response = try transport.send(httpRequest, body: body) { head, chunk in
                        streamed = true
                        return receive(head, chunk)
                    }
                } else if request.survivesCancellation, let cancellable = transport as? any CancellableTransport {
                    response = try cancellable.sendIgnoringCancellation(httpRequest, body: body)
                } else {
                    response = try transport.send(httpRequest, body: body)
                }
            } catch let error as TransportError {
                log(
                    request, url: url, outcome: "failed (\(error.kind))", attempt: attempt, of: maxAttempts,
                    since: started)
                if streamed { throw error }
                guard let reason = RetryClassifier.classify(error), attempt < maxAttempts,
                    let cost = quota.acquire(timeout: reason == .timeout)
                else {
                    throw S3Error.transport(
                        operation: request.operation, bucket: request.bucket, key: request.key, error: error,
                        attempts: attempt)
                }
                retryTokens += cost
                backOff(after: attempt, interruptible: !request.survivesCancellation)
                attempt += 1
                continue
            }
            log(request, url: url, outcome: String(response.status), attempt: attempt, of: maxAttempts, since: started)

            let document: S3ErrorDocument?
            let reason: RetryReason?
            if (200..<300).contains(response.status) {
                guard request.errorDocumentMeansFailure, let error = S3ErrorDocument(response.body) else {
                    quota.release(retryTokens)
                    return response
                }
                // "A 200 OK response can contain valid or invalid XML … retry the request."
                document = error
                reason = .transient
            } else {
                document =
                    S3ErrorDocument(response.body)
                    ?? Self.bodilessError(
                        response, method: request.method, withSessionToken: signingCredentials.sessionToken != nil)
                reason = RetryClassifier.classify(status: response.status, code: document?.code)
            }

            if let bucket = request.bucket, !followedRedirect,
                let correct = Self.redirectRegion(response, document), correct != region
            {
                bucketRegions.withLock { $0[bucket] = correct }
                logger?(
                    "s3: bucket \(bucket) is in region \(correct), not \(region); following (remembered for this run)")
                followedRedirect = true
                continue
            }

            if let reason, attempt < maxAttempts, let cost = quota.acquire(timeout: false) {
                retryTokens += cost
                switch reason {
                case .clockSkew:
                    correctClock(response, document, sentAt: started)
                case .expiredCredentials:
                    refreshCredentials = true
                case .transient, .timeout:
                    backOff(after: attempt, interruptible: !request.survivesCancellation)
                }
                attempt += 1
                continue
            }
            throw S3Error.response(
                operation: request.operation, bucket: request.bucket, key: request.key, status: response.status,
                error: document, requestId: document?.requestId ?? response.header("x-amz-request-id"),
                attempts: attempt, region: region,
                sentChecksumHeaders: request.headers.contains { $0.name.lowercased().hasPrefix("x-amz-checksum-") })
        }
    }

    /// Sleeps the full-jitter backoff; a cancellation ends the sleep early when `interruptible`.
    private func backOff(after attempt: Int, interruptible: Bool) {
        let delay = configuration.retry.backoff(afterAttempt: attempt, random: timing.random())
        guard let cancellation, interruptible else { return timing.sleep(delay) }
        var remaining = delay
        while remaining > 0, !cancellation.isCancelled {
            let slice = min(remaining, 0.25)
            timing.sleep(slice)
            remaining -= slice
        }
    }

    /// What an error answer without an `<Error>` body (a HEAD's) says: the `x-amz-error-code`
    /// header when the server sends one; otherwise, for a 400 to a HEAD signed with a session token,
    /// an inferred ExpiredToken. S3 answers HeadObject with the status alone (an expired token is
    /// "400 Bad Request" and nothing more), and a signed HEAD has little other way to be a bad one.
    static func bodilessError(_ response: HTTPResponse, method: String, withSessionToken: Bool) -> S3ErrorDocument? {
        if let code = response.header("x-amz-error-code"), !code.isEmpty {
            return S3ErrorDocument(code: code, message: response.header("x-amz-error-message"))
        }
        // A 400 naming the bucket's region is a wrong region (`redirectRegion`), not a token.
        guard method == "HEAD", response.status == 400, withSessionToken, response.header("x-amz-bucket-region") == nil
        else { return nil }
        var inferred = S3ErrorDocument(code: "ExpiredToken", message: nil)
        inferred.inferred = true
        return inferred
    }

    /// The region a redirect or a region complaint names, if any.
    static func redirectRegion(_ response: HTTPResponse, _ document: S3ErrorDocument?) -> String? {
        let named = response.header("x-amz-bucket-region") ?? document?.region
        guard let named, !named.isEmpty else { return nil }
        switch (response.status, document?.code) {
        case (301, _), (307, _), (_, "PermanentRedirect"), (_, "AuthorizationHeaderMalformed"), (400, nil):
            return named
        default:
            return nil
        }
    }

    /// Sets the signing clock's offset from S3's `Date` header (or the error's `ServerTime`).
    private func correctClock(_ response: HTTPResponse, _ document: S3ErrorDocument?, sentAt: Timestamp) {
        let server =
            response.header("date").flatMap(HTTPDate.parse)
            ?? document?.serverTime.flatMap(AmzDate.parseISO8601)
        guard let server else { return }
        let offset = server.timeIntervalSince(timing.now())
        clockOffset.withLock { $0 = offset }
        logger?("s3: our clock is \(Int((-offset).rounded())) s off S3's; signing with S3's time from now on")
    }

    private func log(
        _ request: Request, url: String, outcome: String, attempt: Int, of maxAttempts: Int, since started: Timestamp
    ) {
        guard let logger else { return }
        let elapsed = timing.now().timeIntervalSince(started)
        logger(
            Self.logLine(
                operation: request.operation, method: request.method, url: url, outcome: outcome,
                attempt: attempt, maxAttempts: maxAttempts, seconds: elapsed))
    }

    /// `s3: PutObject PUT host /bucket/key?<redacted> 200 attempt 1/3 0.012s`
    static func logLine(
        operation: String, method: String, url: String, outcome: String, attempt: Int, maxAttempts: Int, seconds: Double
    ) -> String {
        var rest = Substring(Redact.url(url))  // no query, no user:password@
        if let scheme = rest.firstRange(of: "://") { rest = rest[scheme.upperBound...] }
        let pathStart = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        let host = rest[..<pathStart]
        let path = rest[pathStart...]
        return
            "s3: \(operation) \(method) \(host) \(path.first == "/" ? path : "/" + path) \(outcome) attempt \(attempt)/\(maxAttempts) "
            + "\(Int((seconds * 1000).rounded()) / 1000).\(String(Int((seconds * 1000).rounded()) % 1000).leftPadded(3, with: "0"))s"
    }
}

/// HTTP dates as servers send them in `Date`: IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`).
enum HTTPDate {
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    static func parse(_ text: String) -> Timestamp? {
        let fields = text.split(separator: " ")
        guard fields.count == 6, fields[5] == "GMT",
            let day = Int(fields[1]), let monthIndex = months.firstIndex(of: String(fields[2])),
            let year = Int(fields[3])
        else { return nil }
        let time = fields[4].split(separator: ":").compactMap { Int($0) }
        guard time.count == 3 else { return nil }
        let iso =
            "\(String(year).leftPadded(4, with: "0"))-\(String(monthIndex + 1).leftPadded(2, with: "0"))-\(String(day).leftPadded(2, with: "0"))T"
            + time.map { String($0).leftPadded(2, with: "0") }.joined(separator: ":") + "Z"
        return AmzDate.parseISO8601(iso)
    }
}

extension String {
    /// Padded on the left with `pad` to `width` characters (numbers without Foundation's `String(format:)`).
    func leftPadded(_ width: Int, with pad: Character) -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}
