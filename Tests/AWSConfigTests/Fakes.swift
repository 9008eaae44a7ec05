import AWSConfig
import Basics
import Foundation
import HTTPClient
import SigV4
import Synchronization

/// A transport that answers from a closure and records what it was sent.
final class FakeTransport: HTTPTransport, @unchecked Sendable {
    struct Sent {
        var request: HTTPRequest
        var body: [UInt8]
        var bodyText: String { String(decoding: body, as: UTF8.self) }
        func header(_ name: String) -> String? {
            request.headers.first { $0.name.lowercased() == name.lowercased() }?.value
        }
    }

    private let answer: @Sendable (HTTPRequest, [UInt8]) throws -> HTTPResponse
    private let log = Mutex<[Sent]>([])

    init(_ answer: @escaping @Sendable (HTTPRequest, [UInt8]) throws -> HTTPResponse) {
        self.answer = answer
    }

    /// Refuses every connection, as an address where nothing listens.
    static var unreachable: FakeTransport {
        FakeTransport { request, _ in throw TransportError(.connect, "connection refused to \(Redact.url(request.url))")
        }
    }

    var sent: [Sent] { log.withLock { $0 } }

    func send(_ request: HTTPRequest, body: UnsafeRawBufferPointer?) throws -> HTTPResponse {
        let bytes = body.map { Array($0) } ?? []
        log.withLock { $0.append(Sent(request: request, body: bytes)) }
        return try answer(request, bytes)
    }
}

func response(_ status: Int, _ body: String = "") -> HTTPResponse {
    HTTPResponse(status: status, headers: [], body: Array(body.utf8))
}

/// A clock the test moves.
final class FakeClock: WallClock, @unchecked Sendable {
    private let time: Mutex<Timestamp>
    init(_ date: Timestamp) { time = Mutex(date) }
    func now() -> Timestamp { time.withLock { $0 } }
    func advance(_ seconds: Double) { time.withLock { $0 = $0.addingTimeInterval(seconds) } }
}

struct FakeRunner: CommandRunner {
    var answer: @Sendable (String) -> (Int32, String)
    func run(_ command: String, environment: [String: String]) throws -> (status: Int32, output: [UInt8]) {
        let (status, text) = answer(command)
        return (status, Array(text.utf8))
    }
}

/// A temporary directory removed when the value goes away.
final class TempDirectory: @unchecked Sendable {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "awsconfig-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    @discardableResult
    func write(_ name: String, _ text: String, executable: Bool = false) throws -> String {
        let file = path + "/" + name
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        if executable { try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: file) }
        return file
    }
}

let t0 = Timestamp(timeIntervalSince1970: 1_700_000_000)  // 2023-11-14T22:13:20Z

func iso(_ date: Timestamp) -> String { AmzDate(date).iso8601 }

func stsAnswer(action: String, id: String, secret: String, token: String, expiration: Timestamp) -> String {
    """
    <\(action)Response xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
      <\(action)Result>
        <Credentials>
          <AccessKeyId>\(id)</AccessKeyId>
          <SecretAccessKey>\(secret)</SecretAccessKey>
          <SessionToken>\(token)</SessionToken>
          <Expiration>\(iso(expiration))</Expiration>
        </Credentials>
        <AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/r/s</Arn></AssumedRoleUser>
      </\(action)Result>
    </\(action)Response>
    """
}

func resolve(
    _ env: [String: String], flags: ConfigurationFlags = ConfigurationFlags(), files: [String: String] = [:],
    transport: any HTTPTransport = FakeTransport.unreachable, clock: any WallClock = FakeClock(t0),
    runner: any CommandRunner = FakeRunner { _ in (127, "") }
) throws -> ResolvedConfiguration {
    var environment = ["HOME": "/home/u"]
    environment.merge(env) { _, new in new }
    return try ResolvedConfiguration.resolve(
        flags: flags, environment: environment, files: InMemoryFiles(files), transport: transport, clock: clock,
        runner: runner)
}
