import ArgumentParser
import AudioTranscode
import Basics
import HTTPClient
import S3
import Threads

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `s3transcode lambda` (or the binary started as `bootstrap` with no arguments): the process is its
/// own AWS Lambda custom runtime. It reads its configuration once, makes one S3 session (one
/// connection pool, reused by every invocation of this warm process), then answers invocations
/// until Lambda stops it.
struct LambdaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lambda",
        abstract: "Run as an AWS Lambda function (custom runtime): transcode the objects that S3 events name.",
        discussion: """
            Speaks the Lambda Runtime API at AWS_LAMBDA_RUNTIME_API. Deploy the binary alone, named bootstrap, in a provided.al2023 function: started as bootstrap with no arguments it runs this command.

            Events: S3 notifications (every record), the same through SQS or SNS, and EventBridge Object Created. Configuration comes from the environment: S3TRANSCODE_DEST (required, e.g. s3://{bucket}-mp3/{dir}/{stem}.mp3), S3TRANSCODE_INCLUDE and S3TRANSCODE_EXCLUDE (comma-separated globs, default *.wav), S3TRANSCODE_SKIP_EXISTING, S3TRANSCODE_ARGS (transcode's encoding, tag, upload and object options), S3TRANSCODE_BITRATE and the other single-option variables, S3TRANSCODE_DEADLINE_MARGIN (seconds, default 3). The README's Lambda section lists them all.
            """)

    func run() throws {
        let environment = ProcessEnvironment.current
        let console = Console.shared
        guard let address = environment["AWS_LAMBDA_RUNTIME_API"], !address.isEmpty else {
            console.error(
                "AWS_LAMBDA_RUNTIME_API is not set: `s3transcode lambda` runs inside AWS Lambda (or its runtime emulator)"
            )
            throw ExitCode(ExitStatus.configuration.rawValue)
        }
        FFmpegLog.setLevel(.quiet)
        let api = LambdaRuntimeAPI(address: address)
        let trap = SignalTrap()
        let handler: LambdaHandler
        do {
            let configuration = try LambdaConfiguration(environment: environment)
            let s3 = configuration.options.s3
            let verbosity = configuration.verbose ? 1 : 0
            let session = SharedSession {
                try S3Session(
                    options: s3, verbosity: verbosity, cancellation: trap.cancellation, environment: environment)
            }
            _ = try session.get()
            handler = LambdaHandler(configuration: configuration, trap: trap, session: session)
        } catch {
            let failure = CommandFailure(error)
            console.error(failure.message)
            do {
                try api.initError(type: "Runtime.ConfigurationError", message: failure.message)
            } catch {
                console.error("cannot report the init error to the Runtime API: \(error)")
            }
            throw ExitCode(failure.status.rawValue)
        }
        runLoop(api: api, handler: handler, trap: trap)
    }

    /// Answers invocations one after another. `next` failing three times in a row (the Runtime API is
    /// gone) ends the process: there is nothing left to serve.
    private func runLoop(api: LambdaRuntimeAPI, handler: LambdaHandler, trap: SignalTrap) -> Never {
        let console = Console.shared
        var failures = 0
        while true {
            if let code = trap.exitCode { exitProcess(code) }
            let invocation: LambdaInvocation
            do {
                invocation = try api.next()
                failures = 0
            } catch {
                failures += 1
                console.error("the Lambda Runtime API: \(error)")
                if failures >= 3 { exitProcess(ExitStatus.unavailable.rawValue) }
                OSThread.sleep(forTimeInterval: 0.2 * Double(failures))
                continue
            }
            let answer = handler.handle(invocation)
            do {
                switch answer {
                case .response(let json): try api.respond(to: invocation.requestId, json: json)
                case .error(let type, let message): try api.fail(invocation.requestId, type: type, message: message)
                }
            } catch {
                console.error("cannot answer invocation \(invocation.requestId): \(error)")
            }
        }
    }
}

/// C's `exit` (inside a `ParsableCommand`, `exit` names ArgumentParser's).
private func exitProcess(_ status: Int32) -> Never { exit(status) }

/// One line of the function's log per object (CloudWatch reads stderr), as JSON. Never a secret:
/// errors are the command line's one-line messages, which redact them.
struct LambdaLogLine: Encodable {
    var requestId: String
    var source: String
    var destination: String?
    /// `uploaded`, `skipped` or `failed`.
    var status: String
    var seconds: Double
    var audioSeconds: Double?
    var bytes: Int64?
    var error: String?
    var reason: String?
    var messageId: String?
    /// Requests this process has sent to S3 so far, and the connections it opened for them: warm
    /// invocations share one transport and its connection pool, so both only ever grow, and the
    /// second grows slower than the first where S3 keeps connections alive.
    var requests: Int?
    var connectionsOpened: Int?

    static func rounded(_ value: Double) -> Double { (value * 1000).rounded() / 1000 }
}

/// Turns one invocation into its answer: each object through a `TranscodeJob`, under a deadline
/// watchdog, with `batch`'s skip-existing check; one log line per object.
final class LambdaHandler {
    enum Answer: Equatable {
        case response([UInt8])
        case error(type: String, message: String)
    }

    let configuration: LambdaConfiguration
    let trap: SignalTrap
    let session: SharedSession

    init(configuration: LambdaConfiguration, trap: SignalTrap, session: SharedSession) {
        self.configuration = configuration
        self.trap = trap
        self.session = session
    }

    func handle(_ invocation: LambdaInvocation) -> Answer {
        let requestId = invocation.requestId
        let event: LambdaEvent
        do {
            event = try LambdaEvent(json: invocation.body)
        } catch {
            log(
                LambdaLogLine(
                    requestId: requestId, source: "event", status: "failed", seconds: 0, error: error.description))
            return .error(type: "S3Transcode.UnknownEvent", message: "s3transcode: \(error.description)")
        }
        for skipped in event.skipped {
            log(
                LambdaLogLine(
                    requestId: requestId, source: skipped.what, status: "skipped", seconds: 0,
                    reason: skipped.reason, messageId: skipped.messageId))
        }
        for malformed in event.malformed {
            log(
                LambdaLogLine(
                    requestId: requestId, source: "event", status: "failed", seconds: 0,
                    error: malformed.error, messageId: malformed.messageId))
        }
        let watchdog = DeadlineWatchdog(
            deadline: invocation.deadline, margin: configuration.deadlineMargin,
            cancellation: trap.cancellation)
        var lines: [LambdaLogLine] = []
        for object in event.objects {
            let line = process(object, requestId: requestId, watchdog: watchdog)
            log(line)
            lines.append(line)
        }
        watchdog.finish()
        // A deadline stop must not stop the next invocation; a signal (Lambda shutting down) does.
        if trap.signal == nil { trap.cancellation.reset() }
        return LambdaHandler.answer(event: event, lines: lines)
    }

    /// SQS: the partial batch response, naming each message with a failed object or an unreadable
    /// body. Otherwise: the outputs, or an error naming every failed object.
    static func answer(event: LambdaEvent, lines: [LambdaLogLine]) -> Answer {
        if event.isSQS {
            struct Failure: Encodable { var itemIdentifier: String }
            struct Response: Encodable { var batchItemFailures: [Failure] }
            var ids: [String] = []
            for id in event.malformed.map(\.messageId) + lines.filter({ $0.status == "failed" }).map(\.messageId) {
                if let id, !ids.contains(id) { ids.append(id) }
            }
            let json = (try? JSONLine.encode(Response(batchItemFailures: ids.map(Failure.init)))) ?? "{}"
            return .response(Array(json.utf8))
        }
        let failed = lines.filter { $0.status == "failed" }
        if !failed.isEmpty {
            var message =
                "\(failed.count) of \(lines.count) objects failed: "
                + failed.map { $0.error ?? $0.source }.joined(separator: "; ")
            if message.count > 4000 { message = String(message.prefix(4000)) + "…" }
            return .error(type: "S3Transcode.Failed", message: message)
        }
        struct Response: Encodable {
            var outputs: [String]
            var skipped: [String]
        }
        let response = Response(
            outputs: lines.filter { $0.status == "uploaded" }.compactMap(\.destination),
            skipped: lines.filter { $0.status == "skipped" }.map(\.source))
        return .response(Array(((try? JSONLine.encode(response)) ?? "{}").utf8))
    }

    private func process(_ object: LambdaEvent.Object, requestId: String, watchdog: DeadlineWatchdog) -> LambdaLogLine {
        let started = Timestamp()
        var line = attempt(object, requestId: requestId, watchdog: watchdog)
        line.seconds = LambdaLogLine.rounded(Timestamp().timeIntervalSince(started))
        return line
    }

    private func attempt(_ object: LambdaEvent.Object, requestId: String, watchdog: DeadlineWatchdog) -> LambdaLogLine {
        let output = configuration.destination.destination(bucket: object.bucket, key: object.key)
        let item = BatchItem(
            relativePath: object.key, input: .s3(bucket: object.bucket, key: object.key),
            destination: .s3(bucket: output.bucket, key: output.key))
        var line = LambdaLogLine(
            requestId: requestId, source: item.input.description, destination: item.destination.description,
            status: "failed", seconds: 0, messageId: object.messageId)
        if let refusal = configuration.refusal(bucket: object.bucket, key: object.key, output: output) {
            line.status = "skipped"
            line.reason = refusal
            return line
        }
        if let reason = watchdog.reason {
            line.error = "\(item.input): not started: \(reason)"
            return line
        }
        do {
            var known: String?
            if configuration.skipExisting {
                switch try item.freshness(session: session) {
                case .upToDate(let reason):
                    line.status = "skipped"
                    line.reason = reason
                    return line
                case .stale(let hash):
                    known = hash
                }
            }
            var job = TranscodeJob(
                input: item.input, destination: item.destination, encoding: configuration.encoding,
                upload: configuration.options.upload, object: configuration.options.object)
            job.knownSourceSHA256 = known
            watchdog.jobStarted()
            let session = session
            let input = item.input.description
            let estimates = configuration.estimatesDeadline
            let (_, report) = try job.run(
                session: { try session.get() }, trap: trap,
                progress: { if estimates { watchdog.estimate($0) } },
                warning: { Console.shared.warning("\(input): \($0)") })
            line.status = report.status
            if let statistics = try? session.get().transport.statistics {
                (line.requests, line.connectionsOpened) = (statistics.transfers, statistics.connectionsOpened)
            }
            line.bytes = report.bytes
            line.audioSeconds = report.audioSeconds.map(LambdaLogLine.rounded)
        } catch {
            let failure = CommandFailure(error)
            if let reason = watchdog.reason {
                line.error =
                    "\(item.input): stopped: \(reason); "
                    + (failure.leftBehind ?? "nothing was left behind (an upload in progress is aborted)")
            } else {
                line.error = failure.message
            }
        }
        return line
    }

    private func log(_ line: LambdaLogLine) {
        if let text = try? JSONLine.encode(line) { Console.shared.info(text) }
    }
}
