import SigV4

/// The transport seam: everything above it (signing, credentials, the S3 client, retries) is tested
/// with an injected transport; `CurlTransport` is the real one.
///
/// The API is synchronous on purpose. Callers run it on dedicated threads (never on Swift's
/// cooperative pool), and a synchronous call lets a request body be a borrowed buffer: a part
/// buffer is sent without being copied, and a retry simply sends it again from its first byte.

/// One HTTP request. `url` is the full URL as sent (scheme, host, optional port, encoded path and query).
public struct HTTPRequest: Sendable {
    public var method: String
    public var url: String
    /// Header names as given; sent in this order. `Content-Length` is added by the transport.
    public var headers: [(name: String, value: String)]

    public init(method: String, url: String, headers: [(name: String, value: String)] = []) {
        self.method = method
        self.url = url
        self.headers = headers
    }
}

public struct HTTPResponse: Sendable {
    public var status: Int
    /// Header names lowercased, in the order received.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(name: String, value: String)], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The first value of a header, by case-insensitive name.
    public func header(_ name: String) -> String? {
        HTTPResponse.header(name, in: headers)
    }

    /// The first value of the header `name` in `headers`, names compared without regard to case:
    /// the one header lookup, for this response and for the outputs that keep its headers.
    public static func header(_ name: String, in headers: [(name: String, value: String)]) -> String? {
        let lower = name.lowercased()
        return headers.first { $0.name.lowercased() == lower }?.value
    }
}

/// A failure below HTTP: no response was received. Retryable by the AWS standard retry mode.
public struct TransportError: Error, Sendable, CustomStringConvertible {
    /// `setup`: the transport could not be set up for the request (libcurl refused an option), so
    /// nothing was sent and a retry cannot help.
    public enum Kind: Sendable, Equatable { case connect, timeout, send, receive, tls, cancelled, setup, other }
    public var kind: Kind
    /// One line, safe to print: never contains a query string or a header value.
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}

/// Sends one request and waits for the whole response. Implementations are thread-safe.
public protocol HTTPTransport: Sendable {
    /// `body` is borrowed for the duration of the call and sent with Content-Length (never chunked).
    func send(_ request: HTTPRequest, body: UnsafeRawBufferPointer?) throws -> HTTPResponse

    /// Sends one request and streams the body of a 2xx answer: `receive` gets the status and headers
    /// (`head`, its `body` empty) with each chunk of the body as it arrives, in order, on the calling
    /// thread. It may block (that is backpressure: the transfer waits) and returns false to abort the
    /// transfer, which then throws `TransportError.Kind.cancelled`. The body of any other status (an
    /// error document, a 412, a 404) is not streamed: it is collected into the returned response's
    /// `body` (`CurlTransport` keeps the first 64 KiB of it, whether streaming or not). The returned
    /// response of a streamed answer has an empty `body`.
    ///
    /// A connection lost after some chunks were delivered throws: the caller knows how far it got
    /// and can ask for the rest.
    func send(
        _ request: HTTPRequest, body: UnsafeRawBufferPointer?,
        receive: (_ head: HTTPResponse, _ chunk: UnsafeRawBufferPointer) -> Bool
    ) throws -> HTTPResponse
}

extension HTTPTransport {
    public func send(_ request: HTTPRequest, body: [UInt8]) throws -> HTTPResponse {
        try body.withUnsafeBytes { try send(request, body: $0) }
    }

    public func send(_ request: HTTPRequest) throws -> HTTPResponse {
        try send(request, body: nil)
    }

    /// Buffers the whole answer, then hands a 2xx body to `receive` in one chunk: for fakes and
    /// wrappers. `CurlTransport` streams for real.
    public func send(
        _ request: HTTPRequest, body: UnsafeRawBufferPointer?,
        receive: (_ head: HTTPResponse, _ chunk: UnsafeRawBufferPointer) -> Bool
    ) throws -> HTTPResponse {
        var response = try send(request, body: body)
        guard (200..<300).contains(response.status), !response.body.isEmpty else { return response }
        let bytes = response.body
        response.body = []
        let accepted = bytes.withUnsafeBytes { receive(response, $0) }
        if !accepted {
            throw TransportError(
                .cancelled, "\(request.method) \(Redact.url(request.url)) was cancelled by its receiver")
        }
        return response
    }
}
