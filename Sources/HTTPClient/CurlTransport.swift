import Basics
import CCurl
import SigV4
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `HTTPTransport` on libcurl's easy interface.
///
/// `send` blocks the calling thread in `curl_easy_perform`; callers run it on threads of their own,
/// never on Swift's cooperative pool. One transport is meant to be shared by a whole process (every
/// file of a batch, every part-upload thread): easy handles are pooled and reused, and a share
/// handle lets all of them reuse one cache of connections, DNS answers and TLS sessions
/// (<https://curl.se/libcurl/c/libcurl-share.html>).
///
/// Every body is sent with `Content-Length` from the borrowed buffer through a read callback, with a
/// seek callback so curl can rewind it; `Expect: 100-continue` is switched off. TLS peer and host
/// verification are always on.
public final class CurlTransport: CancellableTransport, @unchecked Sendable {
    // @unchecked: the only mutable state is `idle` (behind a Mutex) and the share handle, which libcurl
    // guards with the lock callbacks installed in `CurlShare`.

    public struct Options: Sendable {
        /// Seconds allowed to establish the connection (TCP and TLS).
        public var connectTimeout: Double
        /// A transfer slower than `lowSpeedLimit` bytes per second for `lowSpeedTime` seconds is
        /// abandoned with a timeout (a stalled connection, not a slow one).
        public var lowSpeedLimit: Int
        public var lowSpeedTime: Int
        /// A PEM bundle of certificate authorities to trust instead of the system's (`AWS_CA_BUNDLE`).
        public var caBundle: String?
        public var userAgent: String
        /// When set, every transfer stops within about a second with `TransportError.Kind.cancelled`.
        public var cancellation: CancellationFlag?
        /// Idle easy handles kept for reuse.
        public var maxIdleHandles: Int

        public init(
            connectTimeout: Double = 10,
            lowSpeedLimit: Int = 1,
            lowSpeedTime: Int = 60,
            caBundle: String? = nil,
            userAgent: String = "s3transcode",
            cancellation: CancellationFlag? = nil,
            maxIdleHandles: Int = 16
        ) {
            self.connectTimeout = connectTimeout
            self.lowSpeedLimit = lowSpeedLimit
            self.lowSpeedTime = lowSpeedTime
            self.caBundle = caBundle
            self.userAgent = userAgent
            self.cancellation = cancellation
            self.maxIdleHandles = maxIdleHandles
        }
    }

    /// Counters for tests and `-v`: how many transfers ran and how many of them had to open a new
    /// connection (the rest reused one).
    public struct Statistics: Sendable, Equatable {
        public var transfers: Int
        public var connectionsOpened: Int

        public init(transfers: Int, connectionsOpened: Int) {
            self.transfers = transfers
            self.connectionsOpened = connectionsOpened
        }
    }

    public let options: Options
    /// The certificate authorities HTTPS trusts: `options.caBundle`, else the system's
    /// (`TrustStore.locate`); `nil` when there are none, and then HTTPS fails verification.
    public let trust: TrustStore?
    private let share: CurlShare
    private let idle = Mutex<[EasyHandle]>([])
    private let transfers = Atomic<Int>(0)
    private let connectionsOpened = Atomic<Int>(0)

    /// `environment` holds `SSL_CERT_FILE` and `SSL_CERT_DIR`: the process's by default.
    public init(options: Options = Options(), environment: [String: String]? = nil) {
        _ = curlGlobalInit
        self.options = options
        let environment =
            environment
            ?? ["SSL_CERT_FILE", "SSL_CERT_DIR"].reduce(into: [:]) { env, name in
                env[name] = getenv(name).map { String(cString: $0) }
            }
        self.trust = options.caBundle.map(TrustStore.file) ?? TrustStore.locate(environment: environment)
        self.share = CurlShare()
    }

    public var statistics: Statistics {
        Statistics(
            transfers: transfers.load(ordering: .relaxed), connectionsOpened: connectionsOpened.load(ordering: .relaxed)
        )
    }

    public func send(_ request: HTTPRequest, body: UnsafeRawBufferPointer?) throws -> HTTPResponse {
        try send(request, body: body, cancellation: options.cancellation, receive: nil)
    }

    /// Streams a 2xx body to `receive` as curl delivers it (from `CURLOPT_WRITEFUNCTION`, on this
    /// thread); a `receive` that blocks holds the transfer, one that returns false ends it.
    public func send(
        _ request: HTTPRequest, body: UnsafeRawBufferPointer?,
        receive: (_ head: HTTPResponse, _ chunk: UnsafeRawBufferPointer) -> Bool
    ) throws -> HTTPResponse {
        try withoutActuallyEscaping(receive) { receive in
            try send(request, body: body, cancellation: options.cancellation, receive: receive)
        }
    }

    /// Cleanup after a cancel (AbortMultipartUpload): sent even though the flag is set.
    public func sendIgnoringCancellation(_ request: HTTPRequest, body: UnsafeRawBufferPointer?) throws -> HTTPResponse {
        try send(request, body: body, cancellation: nil, receive: nil)
    }

    private func send(
        _ request: HTTPRequest, body: UnsafeRawBufferPointer?, cancellation: CancellationFlag?,
        receive: ((HTTPResponse, UnsafeRawBufferPointer) -> Bool)?
    ) throws -> HTTPResponse {
        if cancellation?.isCancelled == true {
            throw TransportError(.cancelled, "\(request.method) \(Redact.url(request.url)) was cancelled")
        }
        // A line break in a header would start a header of its own: refuse rather than send it.
        if let bad = request.headers.first(where: {
            $0.name.contains(where: \.isNewline) || $0.value.contains(where: \.isNewline)
        }) {
            throw TransportError(
                .other,
                "\(request.method) \(Redact.url(request.url)) not sent: the header \(bad.name.filter { !$0.isNewline }) contains a line break; remove it from the option that set it"
            )
        }
        let handle = idle.withLock { $0.popLast() } ?? EasyHandle(share: share)
        defer {
            idle.withLock { handles in
                if handles.count < options.maxIdleHandles { handles.append(handle) }
            }
        }
        let response = try handle.perform(
            request, body: body, options: options, trust: trust, cancellation: cancellation, receive: receive)
        transfers.add(1, ordering: .relaxed)
        connectionsOpened.add(response.newConnections, ordering: .relaxed)
        return response.response
    }
}

/// Runs once per process, before any other libcurl call (`curl_global_init` is not thread-safe).
/// OpenSSL first, so that curl's initialisation of it registers no cleanup at exit (see
/// `OpenSSLLibrary`).
private let curlGlobalInit: Void = {
    OpenSSLLibrary.initialize()
    _ = curl_global_init(Int(CURL_GLOBAL_SSL | CURL_GLOBAL_WIN32))
}()

// MARK: - Share handle

/// Owns a curl share handle and the mutexes its lock callbacks use, one per kind of shared data.
private final class CurlShare: @unchecked Sendable {
    let handle: UnsafeMutableRawPointer
    private let locks: UnsafeMutablePointer<pthread_mutex_t>
    private let lockCount = Int(CURL_LOCK_DATA_LAST.rawValue)
    /// Why setting up the share handle failed (every request then fails with it); nil when it worked.
    private(set) var failure: String?

    init() {
        handle = curl_share_init()
        locks = .allocate(capacity: lockCount)
        for i in 0..<lockCount { pthread_mutex_init(locks + i, nil) }
        var codes = [s3t_curl_share_setopt_userdata(handle, UnsafeMutableRawPointer(locks))]
        codes.append(
            s3t_curl_share_setopt_lockfn(handle) { _, data, _, userptr in
                guard let userptr else { return }
                pthread_mutex_lock(userptr.assumingMemoryBound(to: pthread_mutex_t.self) + Int(data.rawValue))
            })
        codes.append(
            s3t_curl_share_setopt_unlockfn(handle) { _, data, userptr in
                guard let userptr else { return }
                pthread_mutex_unlock(userptr.assumingMemoryBound(to: pthread_mutex_t.self) + Int(data.rawValue))
            })
        for data in [CURL_LOCK_DATA_CONNECT, CURL_LOCK_DATA_DNS, CURL_LOCK_DATA_SSL_SESSION] {
            codes.append(s3t_curl_share_setopt_long(handle, CURLSHOPT_SHARE, Int(data.rawValue)))
        }
        if let code = codes.first(where: { $0 != CURLSHE_OK }) {
            failure = "libcurl refused to set up its share handle (\(String(cString: curl_share_strerror(code))))"
        }
    }

    deinit {
        curl_share_cleanup(handle)
        for i in 0..<lockCount { pthread_mutex_destroy(locks + i) }
        locks.deallocate()
    }
}

// MARK: - Easy handle

/// Owns one easy handle. Used by one thread at a time (taken from and returned to the pool).
private final class EasyHandle: @unchecked Sendable {
    let handle: UnsafeMutableRawPointer
    private let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)

    /// The share handle outlives every easy handle attached to it (`CurlTransport` owns both).
    private let share: CurlShare

    init(share: CurlShare) {
        handle = curl_easy_init()
        self.share = share
    }

    deinit {
        curl_easy_cleanup(handle)
        errorBuffer.deallocate()
    }

    func perform(
        _ request: HTTPRequest, body: UnsafeRawBufferPointer?, options: CurlTransport.Options, trust: TrustStore?,
        cancellation: CancellationFlag?, receive: ((HTTPResponse, UnsafeRawBufferPointer) -> Bool)?
    ) throws -> (response: HTTPResponse, newConnections: Int) {
        // Reset clears the options of the previous request but keeps the share (and through it the
        // connection, DNS and TLS session caches); the share option is set again regardless.
        curl_easy_reset(handle)
        errorBuffer[0] = 0
        let transfer = Transfer(
            body: body, cancellation: cancellation, expectsBody: request.method.uppercased() != "HEAD", receive: receive
        )
        var headerList: UnsafeMutablePointer<curl_slist>? = nil
        defer { curl_slist_free_all(headerList) }

        // Every option is checked: one this libcurl refuses (an unknown option on an older curl, a
        // value out of range) fails the request before anything is sent, naming the option.
        var refused: (option: CURLoption, code: CURLcode)?
        func check(_ option: CURLoption, _ code: CURLcode) {
            if code != CURLE_OK, refused == nil { refused = (option, code) }
        }
        func set(_ option: CURLoption, _ value: Int) { check(option, s3t_curl_easy_setopt_long(handle, option, value)) }
        func set(_ option: CURLoption, _ value: String) {
            check(option, s3t_curl_easy_setopt_string(handle, option, value))
        }
        func set(_ option: CURLoption, _ value: UnsafeMutableRawPointer) {
            check(option, s3t_curl_easy_setopt_pointer(handle, option, value))
        }

        if let failure = share.failure {
            throw TransportError(.setup, "\(request.method) \(Redact.url(request.url)) not sent: \(failure)")
        }
        set(CURLOPT_SHARE, share.handle)
        set(CURLOPT_ERRORBUFFER, errorBuffer)
        set(CURLOPT_NOSIGNAL, 1)
        set(CURLOPT_URL, request.url)
        set(CURLOPT_PROTOCOLS_STR, "http,https")
        set(CURLOPT_SSL_VERIFYPEER, 1)
        set(CURLOPT_SSL_VERIFYHOST, 2)
        switch trust {
        case .file(let path): set(CURLOPT_CAINFO, path)
        case .directory(let path): set(CURLOPT_CAPATH, path)
        case nil: break
        }
        set(CURLOPT_CONNECTTIMEOUT_MS, Int(options.connectTimeout * 1000))
        set(CURLOPT_LOW_SPEED_LIMIT, options.lowSpeedLimit)
        set(CURLOPT_LOW_SPEED_TIME, options.lowSpeedTime)
        set(CURLOPT_TCP_KEEPALIVE, 1)
        // S3 speaks HTTP/1.1; no ALPN surprises from other endpoints.
        set(CURLOPT_HTTP_VERSION, Int(CURL_HTTP_VERSION_1_1))
        set(CURLOPT_USERAGENT, options.userAgent)

        for header in request.headers where header.name.lowercased() != "content-length" {
            headerList = curl_slist_append(headerList, "\(header.name): \(header.value)")
        }
        // An empty value removes the header curl would add: no 100-continue round trip.
        headerList = curl_slist_append(headerList, "Expect:")
        check(CURLOPT_HTTPHEADER, s3t_curl_easy_setopt_slist(handle, CURLOPT_HTTPHEADER, headerList))

        let method = request.method.uppercased()
        if method == "HEAD" {
            set(CURLOPT_NOBODY, 1)
        } else if body != nil || method == "PUT" || method == "POST" {
            // UPLOAD with a known size sends Content-Length (never chunked), for any method.
            set(CURLOPT_UPLOAD, 1)
            check(
                CURLOPT_INFILESIZE_LARGE,
                s3t_curl_easy_setopt_off_t(handle, CURLOPT_INFILESIZE_LARGE, curl_off_t(body?.count ?? 0)))
            if method != "PUT" { set(CURLOPT_CUSTOMREQUEST, method) }
            check(
                CURLOPT_READFUNCTION,
                s3t_curl_easy_setopt_data_fn(handle, CURLOPT_READFUNCTION) { buffer, size, count, userdata in
                    Unmanaged<Transfer>.fromOpaque(userdata!).takeUnretainedValue().read(into: buffer, size * count)
                })
            check(
                CURLOPT_SEEKFUNCTION,
                s3t_curl_easy_setopt_seek_fn(handle, CURLOPT_SEEKFUNCTION) { userdata, offset, origin in
                    Unmanaged<Transfer>.fromOpaque(userdata!).takeUnretainedValue().seek(to: offset, origin: origin)
                })
        } else if method == "GET" {
            set(CURLOPT_HTTPGET, 1)
        } else {
            set(CURLOPT_CUSTOMREQUEST, method)
        }

        check(
            CURLOPT_HEADERFUNCTION,
            s3t_curl_easy_setopt_data_fn(handle, CURLOPT_HEADERFUNCTION) { buffer, size, count, userdata in
                Unmanaged<Transfer>.fromOpaque(userdata!).takeUnretainedValue().receiveHeader(buffer, size * count)
            })
        check(
            CURLOPT_WRITEFUNCTION,
            s3t_curl_easy_setopt_data_fn(handle, CURLOPT_WRITEFUNCTION) { buffer, size, count, userdata in
                Unmanaged<Transfer>.fromOpaque(userdata!).takeUnretainedValue().receiveBody(buffer, size * count)
            })
        set(CURLOPT_NOPROGRESS, 0)
        check(
            CURLOPT_XFERINFOFUNCTION,
            s3t_curl_easy_setopt_xferinfo_fn(handle, CURLOPT_XFERINFOFUNCTION) { userdata, _, _, _, _ in
                Unmanaged<Transfer>.fromOpaque(userdata!).takeUnretainedValue().isCancelled ? 1 : 0
            })

        // `transfer` outlives the perform call below, which is the only time curl holds it.
        let context = Unmanaged.passUnretained(transfer).toOpaque()
        for option in [CURLOPT_READDATA, CURLOPT_SEEKDATA, CURLOPT_HEADERDATA, CURLOPT_WRITEDATA, CURLOPT_XFERINFODATA]
        {
            set(option, context)
        }
        if let refused { throw refusedOption(refused.option, refused.code, request: request) }

        let code = withExtendedLifetime(transfer) { curl_easy_perform(handle) }
        var status = 0
        _ = s3t_curl_easy_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        var newConnections = 0
        _ = s3t_curl_easy_getinfo_long(handle, CURLINFO_NUM_CONNECTS, &newConnections)

        guard code == CURLE_OK else {
            if code == CURLE_WRITE_ERROR, transfer.receiverStopped {
                throw TransportError(
                    .cancelled, "\(request.method) \(Redact.url(request.url)) was cancelled by its receiver")
            }
            throw transportError(code, request: request)
        }
        return (HTTPResponse(status: status, headers: transfer.headers, body: transfer.body), newConnections)
    }

    /// An option this libcurl refused, by its name (`curl_easy_option_by_id`, libcurl 7.73+).
    private func refusedOption(_ option: CURLoption, _ code: CURLcode, request: HTTPRequest) -> TransportError {
        let name =
            curl_easy_option_by_id(option).map { "CURLOPT_" + String(cString: $0.pointee.name) }
            ?? "option \(option.rawValue)"
        let version =
            curl_version_info(CURLVERSION_FIRST).flatMap { $0.pointee.version.map { String(cString: $0) } } ?? "?"
        return TransportError(
            .setup,
            "\(request.method) \(Redact.url(request.url)) not sent: libcurl \(version) refused \(name) "
                + "(\(String(cString: curl_easy_strerror(code)))); s3transcode needs libcurl 7.85 or later")
    }

    private func transportError(_ code: CURLcode, request: HTTPRequest) -> TransportError {
        let kind: TransportError.Kind
        switch code {
        case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY:
            kind = .connect
        case CURLE_OPERATION_TIMEDOUT:
            kind = .timeout
        case CURLE_SEND_ERROR, CURLE_READ_ERROR, CURLE_SEND_FAIL_REWIND:
            kind = .send
        case CURLE_RECV_ERROR, CURLE_GOT_NOTHING, CURLE_PARTIAL_FILE, CURLE_HTTP2, CURLE_HTTP2_STREAM:
            kind = .receive
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM,
            CURLE_SSL_CIPHER, CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ENGINE_NOTFOUND, CURLE_SSL_ISSUER_ERROR,
            CURLE_SSL_CRL_BADFILE, CURLE_SSL_PINNEDPUBKEYNOTMATCH, CURLE_SSL_INVALIDCERTSTATUS:
            kind = .tls
        case CURLE_ABORTED_BY_CALLBACK:
            kind = .cancelled
        default:
            kind = .other
        }
        let target = Redact.url(request.url)
        if kind == .cancelled {
            return TransportError(.cancelled, "\(request.method) \(target) was cancelled")
        }
        var detail = String(cString: curl_easy_strerror(code))
        var extra = String(cString: errorBuffer)
        extra = extra.replacingOccurrences(of: request.url, with: target)
        if let q = request.url.firstIndex(of: "?") {
            extra = extra.replacingOccurrences(of: String(request.url[q...]), with: "?<redacted>")
        }
        if !extra.isEmpty { detail += " (\(extra))" }
        let advice: String
        switch kind {
        case .connect: advice = "check the endpoint and your network"
        case .timeout: advice = "the connection stalled; check your network and retry"
        case .tls: advice = "check the endpoint's certificate, or AWS_CA_BUNDLE"
        default: advice = "check your network and retry"
        }
        return TransportError(kind, "\(request.method) \(target) failed: \(detail); \(advice)")
    }
}

extension String {
    fileprivate func replacingOccurrences(of target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var result = ""
        var rest = self[...]
        while let range = rest.range(of: target) {
            result += rest[..<range.lowerBound]
            result += replacement
            rest = rest[range.upperBound...]
        }
        return result + rest
    }
}

extension Substring {
    fileprivate func range(of target: String) -> Range<Index>? {
        var start = startIndex
        while start < endIndex {
            if self[start...].hasPrefix(target) {
                return start..<index(start, offsetBy: target.count)
            }
            start = index(after: start)
        }
        return nil
    }
}

// MARK: - One transfer's state, reached from curl's callbacks

private final class Transfer {
    /// The bytes kept of a body that is not a 2xx answer (an error document, a 404 page): S3's
    /// `<Error>` documents are well under 1 KiB. The rest is read and dropped, so that a hostile or
    /// broken endpoint cannot fill memory and the connection stays reusable.
    static let errorBodyLimit = 64 << 10

    private let upload: UnsafeRawBufferPointer?
    private var offset = 0
    private let cancellation: CancellationFlag?
    private let expectsBody: Bool
    /// Where a 2xx body goes when the caller streams it; nil collects it into `body`.
    private let receive: ((HTTPResponse, UnsafeRawBufferPointer) -> Bool)?
    /// The status and headers handed to `receive`, made at the first chunk (all headers are in by then).
    private var head: HTTPResponse?
    private var status = 0
    var headers: [(name: String, value: String)] = []
    var body: [UInt8] = []
    /// `receive` returned false: the transfer was ended on purpose.
    private(set) var receiverStopped = false

    init(
        body: UnsafeRawBufferPointer?, cancellation: CancellationFlag?, expectsBody: Bool,
        receive: ((HTTPResponse, UnsafeRawBufferPointer) -> Bool)?
    ) {
        self.upload = body
        self.cancellation = cancellation
        self.expectsBody = expectsBody
        self.receive = receive
    }

    var isCancelled: Bool { cancellation?.isCancelled == true }

    /// CURLOPT_READFUNCTION: copies the next bytes of the borrowed body.
    func read(into buffer: UnsafeMutablePointer<CChar>?, _ capacity: Int) -> Int {
        guard let upload, let base = upload.baseAddress, let buffer, offset < upload.count else { return 0 }
        let n = min(capacity, upload.count - offset)
        UnsafeMutableRawPointer(buffer).copyMemory(from: base + offset, byteCount: n)
        offset += n
        return n
    }

    /// CURLOPT_SEEKFUNCTION: curl rewinds the body when it must send it again (a redirect, a
    /// connection that was closed under it).
    func seek(to position: curl_off_t, origin: Int32) -> Int32 {
        let count = upload?.count ?? 0
        let target: Int
        switch origin {
        case SEEK_SET: target = Int(position)
        case SEEK_CUR: target = offset + Int(position)
        case SEEK_END: target = count + Int(position)
        default: return 2  // CURL_SEEKFUNC_CANTSEEK
        }
        guard target >= 0, target <= count else { return 1 }  // CURL_SEEKFUNC_FAIL
        offset = target
        return 0  // CURL_SEEKFUNC_OK
    }

    /// CURLOPT_HEADERFUNCTION: one header line at a time, the status line included. A new status
    /// line (after `100 Continue`) starts a new set of headers.
    func receiveHeader(_ buffer: UnsafeMutablePointer<CChar>?, _ count: Int) -> Int {
        guard let buffer else { return count }
        let bytes = UnsafeRawBufferPointer(start: buffer, count: count)
        var line = String(decoding: bytes, as: UTF8.self)
        while line.last?.isNewline == true { line.removeLast() }  // "\r\n" is one Character
        if line.hasPrefix("HTTP/") {
            headers.removeAll()
            body.removeAll()
            head = nil
            status = line.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        } else if let colon = line.firstIndex(of: ":") {
            let name = line[..<colon].lowercased()
            let value = String(line[line.index(after: colon)...].trimming { $0 == " " || $0 == "\t" })
            headers.append((name: name, value: value))
            // Reserve for the body about to come (a HEAD gets none, whatever its Content-Length says).
            if name == "content-length", expectsBody, receive == nil || !(200..<300).contains(status),
                let length = Int(value), length > 0, length <= 64 << 20
            {
                body.reserveCapacity((200..<300).contains(status) ? length : min(length, Transfer.errorBodyLimit))
            }
        }
        return count
    }

    /// CURLOPT_WRITEFUNCTION: hands a 2xx body to `receive`, or appends it to `body`. Returning less
    /// than `count` makes curl end the transfer (CURLE_WRITE_ERROR).
    func receiveBody(_ buffer: UnsafeMutablePointer<CChar>?, _ count: Int) -> Int {
        guard let buffer else { return count }
        let chunk = UnsafeRawBufferPointer(start: buffer, count: count)
        guard (200..<300).contains(status) else {
            body.append(contentsOf: chunk.prefix(max(0, Transfer.errorBodyLimit - body.count)))
            return count
        }
        guard let receive else {
            body.append(contentsOf: chunk)
            return count
        }
        let head = self.head ?? HTTPResponse(status: status, headers: headers, body: [])
        self.head = head
        guard receive(head, chunk) else {
            receiverStopped = true
            return 0
        }
        return count
    }
}
