import Basics
import HTTPClient
import SigV4

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What a finished presigned PUT reports.
public struct PresignedUploadResult: Sendable, Equatable {
    public var byteCount: Int64
    /// The ETag S3 answered, without quotes (nil if it sent none).
    public var etag: String?
    /// Hex MD5 of the body (sent as Content-MD5 for a SigV4 URL; compared with the ETag).
    public var md5Hex: String
    public var attempts: Int
}

/// An output sink that holds the whole MP3 in memory and sends it with ONE PUT to a presigned URL:
/// the case `ffmpeg -method PUT` fails on, because S3 refuses a chunked PUT.
///
/// Everything written stays rewritable, so the muxer patches the Xing/Info + LAME frame at the
/// trailer exactly as into a local file; the object is byte for byte what a local-file run writes.
/// Memory is bounded by `budget`: a write past it fails at once with a message naming the budget,
/// and nothing is sent. `finish()` sends the PUT with `Content-Length` (never chunked), retrying on
/// connection errors, timeouts, 5xx and throttling (a PUT is idempotent), then checks the ETag
/// against the body's MD5 (unless the answer says SSE-KMS, whose ETags are not MD5s). A 403
/// "Request has expired" (or a URL already expired by our clock, checked at `init` before any
/// encoding) says to presign again; S3 errors come as `UploadError(.remote)` over an `S3Error`.
///
/// Used from one thread at a time (the transcoder's).
public final class PresignedUpload: @unchecked Sendable {
    public struct Options: Sendable {
        /// The most bytes the MP3 may have (the whole of it is in memory).
        public var budget: Int
        /// The expected size, if known, to size the buffer once (it grows by doubling otherwise).
        public var expectedSize: Int64?
        public var retry: RetryPolicy
        /// Seconds a URL may look expired by our clock before it is refused without trying.
        public var expiryTolerance: Double

        public init(
            budget: Int = 256 << 20, expectedSize: Int64? = nil, retry: RetryPolicy = RetryPolicy(),
            expiryTolerance: Double = 900
        ) {
            self.budget = budget
            self.expectedSize = expectedSize
            self.retry = retry
            self.expiryTolerance = expiryTolerance
        }
    }

    public let url: PresignedURL
    public let options: Options
    private let objectHeaders: [(name: String, value: String)]
    private let transport: any HTTPTransport
    private let timing: S3Client.Timing
    private let logger: S3Client.Logger?
    private let cancellation: CancellationFlag?

    private var storage: UnsafeMutableRawPointer?
    private var capacity = 0
    private var count = 0
    private var state = State.open
    public private(set) var result: PresignedUploadResult?

    private enum State { case open, finished, aborted }

    /// Checks, before any encoding, that the URL parses, has not expired and allows the headers.
    public init(
        url: PresignedURL, objectHeaders: [(name: String, value: String)], options: Options = Options(),
        transport: any HTTPTransport, timing: S3Client.Timing = .system, logger: S3Client.Logger? = nil,
        cancellation: CancellationFlag? = nil
    ) throws(UploadError) {
        guard options.budget > 0 else {
            throw UploadError(
                .invalidOptions,
                "\(url): the memory budget of a presigned PUT must be above 0; give --max-memory such as 256M")
        }
        if url.hasExpired(at: timing.now(), tolerance: options.expiryTolerance) {
            throw PresignedUpload.expired(url, detail: "by this machine's clock")
        }
        _ = try url.requestHeaders(objectHeaders: objectHeaders, contentMD5: "")
        self.url = url
        self.options = options
        self.objectHeaders = objectHeaders
        self.transport = transport
        self.timing = timing
        self.logger = logger
        self.cancellation = cancellation
    }

    deinit { free(storage) }

    /// Everything written can be rewritten (up to the budget).
    public var rewritableWindow: Int64? { Int64(options.budget) }

    /// Bytes held so far.
    public var byteCount: Int { count }

    public func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws {
        guard state == .open else { throw UploadError(.finished, "\(url): write after the PUT was sent or abandoned") }
        guard offset >= 0, offset <= Int64(count) else {
            throw UploadError(.invalidWrite, "\(url): write at byte \(offset) past the end (\(count) bytes written)")
        }
        let end = offset + Int64(bytes.count)
        guard end <= Int64(options.budget) else {
            throw UploadError(
                .outputTooLarge,
                "\(url): the MP3 outgrew the \(formatByteSize(options.budget)) memory budget of a presigned PUT (the whole object is held in memory for its one PUT), nothing was sent; raise --max-memory, or write to s3://BUCKET/KEY, which streams"
            )
        }
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        try reserve(Int(end))
        (storage! + Int(offset)).copyMemory(from: base, byteCount: bytes.count)
        count = max(count, Int(end))
    }

    /// Sends the one PUT and checks S3's answer.
    public func finish() throws {
        guard state == .open else { throw UploadError(.finished, "\(url): finish after the PUT was sent or abandoned") }
        state = .finished
        defer { release() }
        let body = UnsafeRawBufferPointer(start: storage, count: count)
        let md5 = MessageDigest.hash(.md5, body)
        let md5Hex = hex(md5)
        let headers = try url.requestHeaders(objectHeaders: objectHeaders, contentMD5: Base64.encode(md5))
        let request = HTTPRequest(method: "PUT", url: url.url, headers: headers)
        let maxAttempts = options.retry.partMaxAttempts
        var attempt = 1
        while true {
            if cancellation?.isCancelled == true {
                throw UploadError(.cancelled, "\(url): cancelled before the PUT was sent; nothing was stored")
            }
            let started = timing.now()
            let response: HTTPResponse
            do {
                response = try transport.send(request, body: body)
            } catch let error as TransportError {
                log(outcome: "failed (\(error.kind))", attempt: attempt, of: maxAttempts, since: started)
                if error.kind == .cancelled {
                    throw UploadError(.cancelled, "\(url): the PUT was cancelled")
                }
                if RetryClassifier.classify(error) != nil, attempt < maxAttempts {
                    backOff(after: attempt)
                    attempt += 1
                    continue
                }
                let s3 = S3Error(
                    kind: .unavailable, operation: "PutObject", bucket: nil, key: nil, status: nil, code: nil,
                    serverMessage: error.message, requestId: nil, attempts: attempt,
                    message:
                        "the PUT to \(url) got no answer after \(attempt) attempt\(attempt == 1 ? "" : "s"): \(error.message); check the network and the URL's host, then run again"
                )
                throw UploadError(.remote, s3.message, underlying: s3)
            }
            log(outcome: String(response.status), attempt: attempt, of: maxAttempts, since: started)
            if (200..<300).contains(response.status) {
                let etag = response.header("etag").map(PresignedUpload.unquoted)
                try checkETag(etag, md5Hex: md5Hex, response: response)
                result = PresignedUploadResult(byteCount: Int64(count), etag: etag, md5Hex: md5Hex, attempts: attempt)
                return
            }
            let document = S3ErrorDocument(response.body)
            let reason = RetryClassifier.classify(status: response.status, code: document?.code)
            if reason == .transient || reason == .timeout, attempt < maxAttempts {
                backOff(after: attempt)
                attempt += 1
                continue
            }
            throw PresignedUpload.failure(
                url, status: response.status, document: document,
                requestId: document?.requestId ?? response.header("x-amz-request-id"), attempts: attempt)
        }
    }

    /// Drops the buffer; nothing was stored remotely unless `finish()` succeeded.
    public func abort() {
        if state == .open { state = .aborted }
        release()
    }

    // MARK: - Private

    private func reserve(_ needed: Int) throws {
        guard needed > capacity else { return }
        var target =
            capacity == 0 ? Int(min(Int64(options.budget), max(options.expectedSize ?? 0, 1 << 20))) : capacity * 2
        target = min(options.budget, max(target, needed))
        guard let grown = realloc(storage, target) else {
            throw UploadError(
                .outputTooLarge,
                "\(url): cannot allocate \(formatByteSize(target)) for the MP3 of a presigned PUT; lower --max-memory's demand by writing to s3://BUCKET/KEY, which streams"
            )
        }
        storage = grown
        capacity = target
    }

    private func release() {
        free(storage)
        storage = nil
        capacity = 0
    }

    private func checkETag(_ etag: String?, md5Hex: String, response: HTTPResponse) throws {
        // Compared only when the answer shows it is an MD5 (the rule multipart uploads follow too).
        let encryption = AnsweredEncryption(headers: response.headers)
        guard let etag,
            MultipartChecksum.etagIsMD5(
                etag, multipart: false, encryption: encryption.serverSideEncryption,
                customerKeyAlgorithm: encryption.customerKeyAlgorithm)
        else { return }
        guard MultipartChecksum.normalizedETag(etag) == md5Hex else {
            throw UploadError(
                .integrity,
                "\(url): S3 stored something other than what was sent (ETag \(etag), MD5 of the body \(md5Hex)); run again"
            )
        }
    }

    private func backOff(after attempt: Int) {
        var remaining = options.retry.backoff(afterAttempt: attempt, random: timing.random())
        while remaining > 0, cancellation?.isCancelled != true {
            let slice = min(remaining, 0.25)
            timing.sleep(slice)
            remaining -= slice
        }
    }

    private func log(outcome: String, attempt: Int, of maxAttempts: Int, since started: Timestamp) {
        guard let logger else { return }
        logger(
            S3Client.logLine(
                operation: "PutObject(presigned)", method: "PUT", url: url.url, outcome: outcome,
                attempt: attempt, maxAttempts: maxAttempts, seconds: timing.now().timeIntervalSince(started)))
    }

    static func unquoted(_ etag: String) -> String {
        String(trimmedWhitespace(etag).drop { $0 == "\"" }.reversed().drop { $0 == "\"" }.reversed())
    }

    static func expired(_ url: PresignedURL, detail: String) -> UploadError {
        let s3 = S3Error(
            kind: .accessDenied, operation: "PutObject", bucket: nil, key: nil, status: 403, code: "AccessDenied",
            serverMessage: "Request has expired", requestId: nil, attempts: 0,
            message:
                "the presigned URL \(url) has expired (\(detail)); presign it again (`s3transcode presign s3://BUCKET/KEY --method PUT --expires 1h`) and run again"
        )
        return UploadError(.remote, s3.message, underlying: s3)
    }

    /// The error for an answer S3 gave the PUT. Never quotes the URL's query.
    static func failure(_ url: PresignedURL, status: Int, document: S3ErrorDocument?, requestId: String?, attempts: Int)
        -> UploadError
    {
        let code = document?.code
        let said = document?.message.flatMap { $0.isEmpty ? nil : oneLine($0) }
        let what = (code ?? "HTTP \(status)") + (said.map { ": \($0)" } ?? "")
        if status == 403, (said ?? "").lowercased().contains("expired"), code != "ExpiredToken" {
            return expired(url, detail: "S3 answered \(what)")
        }
        let kind = S3Error.kind(code: code, status: status)
        let line: String
        switch kind {
        case .credentialsRejected:
            line =
                "S3 refused the presigned URL \(url) (\(what)); it may be signed for another method or other headers, or its credentials revoked: presign it again with --method PUT"
        case .accessDenied:
            line =
                "S3 denied the PUT to the presigned URL \(url) (\(what)); check that the presigner's credentials may s3:PutObject there, then presign again"
        case .noSuchBucket:
            line = "the bucket of the presigned URL \(url) does not exist (\(what)); check the URL"
        default:
            let attemptsText = attempts > 1 ? " after \(attempts) attempts" : ""
            let advice =
                status >= 500 || code == "SlowDown"
                ? "S3 is unavailable or throttling; retry later" : "check the URL and the object options"
            line = "the PUT to the presigned URL \(url) failed\(attemptsText): \(what) (HTTP \(status)); \(advice)"
        }
        let s3 = S3Error(
            kind: kind == .noSuchKey ? .remote : kind, operation: "PutObject", bucket: nil, key: nil, status: status,
            code: code,
            serverMessage: document?.message, requestId: requestId, attempts: attempts, message: line)
        return UploadError(.remote, line, underlying: s3)
    }
}
