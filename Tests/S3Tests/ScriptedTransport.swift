import Basics
import Foundation
import HTTPClient
import S3
import SigV4
import Synchronization

/// An `HTTPTransport` that answers from a script and records what it was sent.
final class ScriptedTransport: CancellableTransport, Sendable {
    struct Sent: Sendable {
        var request: HTTPRequest
        var body: [UInt8]
        /// Sent through `sendIgnoringCancellation`.
        var ignoringCancellation = false

        func header(_ name: String) -> String? {
            request.headers.first { $0.name.lowercased() == name.lowercased() }?.value
        }

        /// The region of the credential scope in the Authorization header.
        var signedRegion: String? {
            guard let auth = header("authorization"), let credential = auth.split(separator: " ").dropFirst().first
            else { return nil }
            let scope = credential.split(separator: "/")
            return scope.count >= 3 ? String(scope[2]) : nil
        }

        var accessKeyId: String? {
            guard let auth = header("authorization"), let range = auth.firstRange(of: "Credential=") else { return nil }
            return String(auth[range.upperBound...].prefix { $0 != "/" })
        }
    }

    typealias Responder = @Sendable (_ index: Int, _ sent: Sent) throws -> HTTPResponse

    private let responder: Responder
    private let log = Mutex<[Sent]>([])

    init(_ responder: @escaping Responder) {
        self.responder = responder
    }

    /// Answers with `responses` in order (the last one repeats); a `TransportError` in the list is thrown.
    convenience init(_ responses: [Result<HTTPResponse, TransportError>]) {
        self.init { index, _ in try responses[min(index, responses.count - 1)].get() }
    }

    var sent: [Sent] { log.withLock { $0 } }

    func send(_ request: HTTPRequest, body: UnsafeRawBufferPointer?) throws -> HTTPResponse {
        try record(Sent(request: request, body: body.map { Array($0) } ?? []))
    }

    func sendIgnoringCancellation(_ request: HTTPRequest, body: UnsafeRawBufferPointer?) throws -> HTTPResponse {
        try record(Sent(request: request, body: body.map { Array($0) } ?? [], ignoringCancellation: true))
    }

    private func record(_ sent: Sent) throws -> HTTPResponse {
        let index = log.withLock { log in
            log.append(sent)
            return log.count - 1
        }
        return try responder(index, sent)
    }
}

/// A clock that only moves when the client sleeps, and records the sleeps.
final class FakeClock: Sendable {
    private let state: Mutex<(now: Timestamp, sleeps: [Double])>
    let random: Double

    init(start: Timestamp = Timestamp(timeIntervalSince1970: 1_700_000_000), random: Double = 0.5) {
        state = Mutex((start, []))
        self.random = random
    }

    var now: Timestamp { state.withLock { $0.now } }
    var sleeps: [Double] { state.withLock { $0.sleeps } }

    var timing: S3Client.Timing {
        S3Client.Timing(
            now: { self.now },
            sleep: { seconds in
                self.state.withLock {
                    $0.sleeps.append(seconds)
                    $0.now += seconds
                }
            },
            random: { self.random })
    }
}

/// Collects what the client logs.
final class LogLines: Sendable {
    private let lines = Mutex<[String]>([])
    var all: [String] { lines.withLock { $0 } }
    var logger: S3Client.Logger { { line in self.lines.withLock { $0.append(line) } } }
}

func response(_ status: Int, _ body: String = "", headers: [(name: String, value: String)] = []) -> HTTPResponse {
    HTTPResponse(status: status, headers: headers, body: Array(body.utf8))
}

func errorResponse(
    _ status: Int, code: String, message: String = "An error.", extra: String = "",
    headers: [(name: String, value: String)] = []
) -> HTTPResponse {
    response(
        status,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>\(code)</Code><Message>\(message)</Message>\(extra)<RequestId>REQ123</RequestId></Error>",
        headers: headers)
}

let testCredentials = Credentials(
    accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")

func makeClient(
    _ transport: ScriptedTransport, clock: FakeClock = FakeClock(), logger: S3Client.Logger? = nil,
    endpoint: S3Endpoint = S3Endpoint(custom: "http://127.0.0.1:9000"), region: String = "us-east-1",
    retry: RetryPolicy = RetryPolicy(), credentials: S3Client.CredentialsSource = .fixed(testCredentials)
) -> S3Client {
    S3Client(
        configuration: .init(region: region, endpoint: endpoint, retry: retry),
        transport: transport, credentials: credentials, timing: clock.timing, logger: logger)
}
