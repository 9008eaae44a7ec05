import Foundation
import HTTPClient
import Synchronization
import TestSupport
import Testing

@Suite("CurlTransport streaming a response body")
struct StreamingTransportTests {
    @Test("a 2xx body arrives in order, in chunks, each with the status and headers; the returned body is empty")
    func streamsInChunks() throws {
        let body = pattern(3 * 1024 * 1024 + 11, seed: 3)
        // printable bytes: LocalResponder sends a String
        let text = String(decoding: body.map { $0 & 0x3F | 0x40 }, as: UTF8.self)
        let server = try LocalResponder { _ in
            .init(status: 206, headers: [("Content-Range", "bytes 0-9/10")], body: text)
        }
        defer { server.stop() }
        var received: [UInt8] = []
        var chunks = 0
        var heads: Set<Int> = []
        let response = try CurlTransport().send(HTTPRequest(method: "GET", url: server.baseURL + "/b/k"), body: nil) {
            head, chunk in
            heads.insert(head.status)
            #expect(head.header("content-range") == "bytes 0-9/10")
            received += chunk
            chunks += 1
            return true
        }
        #expect(response.status == 206 && response.body.isEmpty)
        #expect(received == Array(text.utf8))
        #expect(chunks > 1 && heads == [206])
    }

    @Test("an error answer (412, 404) is not streamed: its body is in the response", arguments: [412, 404, 500])
    func errorsAreCollected(status: Int) throws {
        let server = try LocalResponder { _ in
            .init(status: status, body: "<Error><Code>PreconditionFailed</Code></Error>")
        }
        defer { server.stop() }
        var called = false
        let response = try CurlTransport().send(HTTPRequest(method: "GET", url: server.baseURL + "/b/k"), body: nil) {
            _, _ in
            called = true
            return true
        }
        #expect(!called)
        #expect(
            response.status == status && response.body == Array("<Error><Code>PreconditionFailed</Code></Error>".utf8))
    }

    @Test("a receiver that returns false ends the transfer: cancelled, not a network failure")
    func receiverStops() throws {
        let server = try LocalResponder { _ in .init(status: 200, body: String(repeating: "a", count: 2 << 20)) }
        defer { server.stop() }
        var total = 0
        let error = try #require(throws: TransportError.self) {
            try CurlTransport().send(HTTPRequest(method: "GET", url: server.baseURL + "/b/k"), body: nil) { _, chunk in
                total += chunk.count
                return false
            }
        }
        #expect(error.kind == .cancelled)
        #expect(total > 0 && total < 2 << 20)
    }

    @Test("the buffering default (for fakes) hands a 2xx body over in one chunk, and not an error's")
    func defaultImplementation() throws {
        struct Fake: HTTPTransport {
            let status: Int
            func send(_ request: HTTPRequest, body: UnsafeRawBufferPointer?) throws -> HTTPResponse {
                HTTPResponse(status: status, headers: [("etag", "\"x\"")], body: Array("hello".utf8))
            }
        }
        var got: [[UInt8]] = []
        let ok = try Fake(status: 200).send(HTTPRequest(method: "GET", url: "http://x/"), body: nil) { head, chunk in
            #expect(head.header("ETag") == "\"x\"" && head.body.isEmpty)
            got.append(Array(chunk))
            return true
        }
        #expect(ok.body.isEmpty && got == [Array("hello".utf8)])
        let failed = try Fake(status: 404).send(HTTPRequest(method: "GET", url: "http://x/"), body: nil) { _, _ in
            Issue.record("an error body was streamed")
            return true
        }
        #expect(failed.body == Array("hello".utf8))
        #expect(throws: TransportError.self) {
            try Fake(status: 200).send(HTTPRequest(method: "GET", url: "http://x/"), body: nil) { _, _ in false }
        }
    }
}
