import AudioTranscode
import Basics
import HTTPClient
import Synchronization
import Threads

/// One invocation, as `GET …/runtime/invocation/next` hands it out.
struct LambdaInvocation {
    var requestId: String
    /// `Lambda-Runtime-Deadline-Ms`: when Lambda kills the process.
    var deadline: Timestamp
    var functionArn: String?
    var body: [UInt8]
}

/// The [Lambda Runtime API](https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html), spoken
/// over the libcurl transport: `next` waits (no timeout: it blocks until an event comes, and Lambda
/// freezes the process meanwhile), the answers are JSON.
struct LambdaRuntimeAPI {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    let base: String
    let transport: CurlTransport

    /// `address` is `AWS_LAMBDA_RUNTIME_API`, `host:port`.
    init(address: String) {
        base = "http://\(address)/2018-06-01/runtime"
        // No low-speed limit: `next` is a long poll that may stay silent for any time.
        transport = CurlTransport(
            options: CurlTransport.Options(
                connectTimeout: 2, lowSpeedLimit: 0, lowSpeedTime: 0, userAgent: "s3transcode/\(S3Transcode.version)",
                maxIdleHandles: 2))
    }

    func next() throws -> LambdaInvocation {
        let response = try transport.send(HTTPRequest(method: "GET", url: base + "/invocation/next"))
        guard response.status == 200 else {
            throw Failure(description: "GET /runtime/invocation/next answered \(response.status)")
        }
        guard let requestId = response.header("Lambda-Runtime-Aws-Request-Id"), !requestId.isEmpty,
            requestId.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." })
        else {
            throw Failure(description: "GET /runtime/invocation/next gave no usable Lambda-Runtime-Aws-Request-Id")
        }
        // Without a deadline (never seen from Lambda), 15 minutes: Lambda's longest timeout.
        let deadline =
            response.header("Lambda-Runtime-Deadline-Ms").flatMap(Double.init)
            .map { Timestamp(timeIntervalSince1970: $0 / 1000) } ?? Timestamp().addingTimeInterval(900)
        return LambdaInvocation(
            requestId: requestId, deadline: deadline,
            functionArn: response.header("Lambda-Runtime-Invoked-Function-Arn"), body: response.body)
    }

    /// `POST …/invocation/{id}/response`.
    func respond(to requestId: String, json: [UInt8]) throws {
        try post("/invocation/\(requestId)/response", json: json)
    }

    /// `POST …/invocation/{id}/error`.
    func fail(_ requestId: String, type: String, message: String) throws {
        try post(
            "/invocation/\(requestId)/error", json: LambdaRuntimeAPI.errorDocument(type: type, message: message),
            errorType: type)
    }

    /// `POST /runtime/init/error`: the function cannot start; Lambda reports it and does not invoke it.
    func initError(type: String, message: String) throws {
        try post("/init/error", json: LambdaRuntimeAPI.errorDocument(type: type, message: message), errorType: type)
    }

    static func errorDocument(type: String, message: String) -> [UInt8] {
        struct Document: Encodable {
            var errorMessage: String
            var errorType: String
        }
        return Array((try? JSONLine.encode(Document(errorMessage: message, errorType: type)))?.utf8 ?? "{}".utf8)
    }

    private func post(_ path: String, json: [UInt8], errorType: String? = nil) throws {
        var request = HTTPRequest(method: "POST", url: base + path, headers: [("Content-Type", "application/json")])
        if let errorType { request.headers.append(("Lambda-Runtime-Function-Error-Type", errorType)) }
        let response = try transport.send(request, body: json)
        guard (200..<300).contains(response.status) else {
            throw Failure(
                description: "POST /runtime\(path) answered \(response.status): "
                    + String(decoding: response.body.prefix(300), as: UTF8.self))
        }
    }
}

/// Stops the running job before Lambda kills the process: at `deadline − margin` it sets the
/// cancellation flag that the transcoder checks between packets and curl during transfers, so the
/// multipart upload is aborted (the abort itself ignores the flag) and the error is reported while
/// there is still time. `estimate(_:)` stops it earlier when the encoder's pace says it cannot finish.
final class DeadlineWatchdog: @unchecked Sendable {  // mutable state is in `state`
    let deadline: Timestamp
    let margin: Double
    private let cancellation: CancellationFlag
    /// Guards `finished` and `exited`, the watchdog thread's two handshakes with `finish()`.
    private let handshake = Condition()
    private var finished = false
    private var exited = false

    private struct State {
        var reason: String?
        /// The first progress report of the current job: when, and how many seconds of audio were done.
        var pace: (at: Timestamp, secondsDone: Double)?
    }
    private let state = Mutex(State())

    init(deadline: Timestamp, margin: Double, cancellation: CancellationFlag) {
        self.deadline = deadline
        self.margin = margin
        self.cancellation = cancellation
        OSThread.detachNewThread { [self] in
            let timedOut = handshake.withLock {
                while !finished {
                    let left = deadline.timeIntervalSinceNow - margin
                    if left <= 0 { return true }
                    handshake.wait(seconds: left)
                }
                return false
            }
            if timedOut { stop("less than \(LambdaLogLine.rounded(margin)) s were left before the Lambda deadline") }
            handshake.withLock {
                exited = true
                handshake.broadcast()
            }
        }
    }

    /// Why the invocation's jobs were stopped, once they were.
    var reason: String? { state.withLock { $0.reason } }

    func stop(_ reason: String) {
        state.withLock { if $0.reason == nil { $0.reason = reason } }
        cancellation.cancel()
    }

    /// A new job starts: its pace is measured afresh.
    func jobStarted() { state.withLock { $0.pace = nil } }

    /// Stops the job when, at the pace measured since its first progress report (at least a second
    /// of it), the rest of the audio would not be encoded before the watchdog's own stop.
    func estimate(_ progress: TranscodeProgress) {
        guard let total = progress.totalSeconds else { return }
        let now = Timestamp()
        let verdict: String? = state.withLock { state in
            guard let pace = state.pace else {
                state.pace = (now, progress.secondsDone)
                return nil
            }
            let elapsed = now.timeIntervalSince(pace.at)
            let done = progress.secondsDone - pace.secondsDone
            guard elapsed >= 1, done > 0 else { return nil }
            let needed = (total - progress.secondsDone) / (done / elapsed)
            guard now.addingTimeInterval(needed) > deadline.addingTimeInterval(-margin) else { return nil }
            return "at \(Int(done / elapsed))× realtime the remaining \(Int(total - progress.secondsDone)) s of audio "
                + "need \(LambdaLogLine.rounded(needed)) s, more than the \(LambdaLogLine.rounded(deadline.timeIntervalSince(now))) s left before the Lambda deadline"
        }
        if let verdict { stop(verdict) }
    }

    /// Ends the watch (the invocation is answered); returns once the watchdog thread has left, so
    /// it cannot cancel the next invocation's work.
    func finish() {
        handshake.withLock {
            finished = true
            handshake.broadcast()
            while !exited { handshake.wait() }
        }
    }
}
