import Basics
import Foundation

/// The Lambda Runtime API on 127.0.0.1, as documented
/// (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html), for tests of a custom runtime:
/// `GET /2018-06-01/runtime/invocation/next` hands out queued events with
/// `Lambda-Runtime-Aws-Request-Id`, `Lambda-Runtime-Deadline-Ms` and
/// `Lambda-Runtime-Invoked-Function-Arn` (waiting while the queue is empty, as Lambda does);
/// `…/invocation/{id}/response`, `…/invocation/{id}/error` and `/runtime/init/error` are recorded.
///
/// `stop()` makes a waiting `next` answer 500 and closes the port, so the runtime under test sees
/// the API gone and exits.
public final class LambdaRuntimeEmulator: @unchecked Sendable {  // `state` is guarded by `condition`
    public struct Answer: Sendable {
        /// `response`, `error` or `init-error`.
        public var kind: String
        public var requestId: String
        public var body: [UInt8]
        /// `Lambda-Runtime-Function-Error-Type`.
        public var errorType: String?
        public var receivedAt: Timestamp

        public var text: String { String(decoding: body, as: UTF8.self) }
        public var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] }
    }

    private struct Queued {
        var requestId: String
        var deadline: Timestamp
        var body: String
    }

    private struct State {
        var queue: [Queued] = []
        var answers: [Answer] = []
        var stopping = false
        var counter = 0
    }

    private var state = State()
    private let condition = NSCondition()
    private var responder: LocalResponder!
    public static let functionArn = "arn:aws:lambda:us-east-1:123456789012:function:s3transcode-test"

    public init() throws {
        responder = try LocalResponder { [unowned self] request in handle(request) }
    }

    deinit { stop() }

    /// `host:port`, the value of `AWS_LAMBDA_RUNTIME_API`.
    public var address: String { "127.0.0.1:\(responder.port)" }

    /// Queues an invocation; returns its request id.
    @discardableResult
    public func enqueue(_ event: String, deadline: Timestamp = Timestamp().addingTimeInterval(120)) -> String {
        condition.lock()
        defer { condition.unlock() }
        state.counter += 1
        let id = "req-\(state.counter)-\(UUID().uuidString.prefix(8))"
        state.queue.append(Queued(requestId: id, deadline: deadline, body: event))
        condition.broadcast()
        return id
    }

    /// The answer to `requestId` (`init-error` answers have the id `init`), waiting up to `timeout` seconds.
    public func answer(_ requestId: String, timeout: Double) -> Answer? {
        let limit = Date().addingTimeInterval(timeout)
        condition.lock()
        defer { condition.unlock() }
        while true {
            if let found = state.answers.first(where: { $0.requestId == requestId }) { return found }
            if !condition.wait(until: limit) { return state.answers.first { $0.requestId == requestId } }
        }
    }

    public var answers: [Answer] {
        condition.lock()
        defer { condition.unlock() }
        return state.answers
    }

    /// How many `next` requests were served (events handed out).
    public var requests: [LocalResponder.Request] { responder.requests }

    public func stop() {
        condition.lock()
        state.stopping = true
        condition.broadcast()
        condition.unlock()
        responder?.stop()
    }

    private func handle(_ request: LocalResponder.Request) -> LocalResponder.Response {
        let prefix = "/2018-06-01/runtime"
        guard request.target.hasPrefix(prefix) else {
            return .init(status: 404, body: "{\"errorMessage\":\"unknown path\"}")
        }
        let path = String(request.target.dropFirst(prefix.count))
        if request.method == "GET", path == "/invocation/next" {
            condition.lock()
            defer { condition.unlock() }
            while state.queue.isEmpty && !state.stopping { condition.wait() }
            if state.stopping { return .init(status: 500, body: "{\"errorMessage\":\"the emulator is stopping\"}") }
            let next = state.queue.removeFirst()
            let deadlineMs = Int64((next.deadline.timeIntervalSince1970 * 1000).rounded())
            return .init(
                status: 200,
                headers: [
                    ("Content-Type", "application/json"),
                    ("Lambda-Runtime-Aws-Request-Id", next.requestId),
                    ("Lambda-Runtime-Deadline-Ms", String(deadlineMs)),
                    ("Lambda-Runtime-Invoked-Function-Arn", LambdaRuntimeEmulator.functionArn),
                    ("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000"),
                ], body: next.body)
        }
        guard request.method == "POST" else { return .init(status: 405) }
        let answer: Answer
        if path == "/init/error" {
            answer = Answer(
                kind: "init-error", requestId: "init", body: request.body,
                errorType: request.header("Lambda-Runtime-Function-Error-Type"), receivedAt: Timestamp())
        } else if path.hasPrefix("/invocation/"), path.hasSuffix("/response") || path.hasSuffix("/error") {
            let parts = path.split(separator: "/")
            guard parts.count == 3 else { return .init(status: 400) }
            answer = Answer(
                kind: String(parts[2]), requestId: String(parts[1]), body: request.body,
                errorType: request.header("Lambda-Runtime-Function-Error-Type"), receivedAt: Timestamp())
        } else {
            return .init(status: 404)
        }
        condition.lock()
        state.answers.append(answer)
        condition.broadcast()
        condition.unlock()
        return .init(status: 202, body: "{\"status\":\"OK\"}")
    }
}
