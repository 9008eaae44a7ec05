import HTTPClient
import Testing

@Suite("CurlTransport without a server")
struct CurlTransportOfflineTests {
    @Test("a refused connection is a `connect` error whose message has no query string")
    func refusedConnection() throws {
        let transport = CurlTransport(options: .init(connectTimeout: 5))
        // Port 9 (discard) on 127.0.0.1: nothing listens there.
        let request = HTTPRequest(
            method: "PUT", url: "http://127.0.0.1:9/bucket/key?X-Amz-Signature=SECRETSIG&partNumber=1")
        let error = try #require(throws: TransportError.self) { try transport.send(request, body: Array("x".utf8)) }
        #expect(error.kind == .connect)
        #expect(error.message.contains("PUT http://127.0.0.1:9/bucket/key"))
        #expect(!error.message.contains("SECRETSIG"))
        #expect(!error.message.contains("partNumber"))
    }

    @Test("a cancelled flag stops a transfer before it starts")
    func cancelledBeforeStart() throws {
        let flag = CancellationFlag()
        flag.cancel()
        let transport = CurlTransport(options: .init(cancellation: flag))
        let error = try #require(throws: TransportError.self) {
            try transport.send(HTTPRequest(method: "GET", url: "http://127.0.0.1:9/"))
        }
        #expect(error.kind == .cancelled)
    }

    @Test("an unknown scheme is refused, not sent")
    func unsupportedScheme() throws {
        let transport = CurlTransport()
        #expect(throws: TransportError.self) {
            try transport.send(HTTPRequest(method: "GET", url: "file:///etc/passwd"))
        }
    }
}

@Suite("CurlTransport request checks")
struct CurlTransportRequestChecks {
    @Test("a header value with a line break is refused before anything is sent")
    func headerInjection() throws {
        let error = try #require(throws: TransportError.self) {
            try CurlTransport().send(
                HTTPRequest(
                    method: "PUT", url: "http://127.0.0.1:9/b/k?uploadId=SECRET",
                    headers: [("x-amz-meta-title", "song\r\nx-amz-acl: public-read")]), body: [1])
        }
        #expect(error.kind == .other)
        #expect(error.message.contains("x-amz-meta-title"))
        #expect(!error.message.contains("SECRET"))
        #expect(!error.message.contains("public-read"))
    }
}

@Suite("HTTP headers")
struct HeaderLookupTests {
    @Test("a header is found whatever the case of its name on either side, first value first")
    func caseInsensitive() {
        let response = HTTPResponse(
            status: 200, headers: [("ETag", "\"a\""), ("x-amz-checksum-crc32", "b"), ("etag", "\"c\"")], body: [])
        #expect(response.header("etag") == "\"a\"")
        #expect(response.header("ETAG") == "\"a\"")
        #expect(response.header("X-Amz-Checksum-CRC32") == "b")
        #expect(response.header("content-length") == nil)
        #expect(HTTPResponse.header("x-AMZ-checksum-crc32", in: response.headers) == "b")
    }
}
