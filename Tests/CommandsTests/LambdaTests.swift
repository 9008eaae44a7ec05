import Basics
import Foundation
import S3
import TestSupport
import Testing

/// `s3transcode lambda` as Lambda runs it: the real binary, a Runtime API emulator on 127.0.0.1
/// (`LambdaRuntimeEmulator`) and moto as S3.
@Suite("lambda: the binary as its own Lambda runtime, against an emulator and moto", .serialized)
struct LambdaTests {
    /// One function process and its emulator. `finish()` stops the emulator, and the process must then
    /// exit by itself (the Runtime API gone) within a bounded time.
    final class Function {
        let emulator: LambdaRuntimeEmulator
        let running: CommandLineTool.Running

        init(environment: [String: String], arguments: [String] = ["lambda"], executable: String? = nil) throws {
            emulator = try LambdaRuntimeEmulator()
            var environment = environment
            environment["AWS_LAMBDA_RUNTIME_API"] = emulator.address
            running = try CommandLineTool.Running(arguments, environment: environment, executable: executable)
        }

        /// Queues `event` and waits (bounded) for its answer.
        func invoke(_ event: String, deadline: Timestamp = Timestamp().addingTimeInterval(120), timeout: Double = 120)
            throws
            -> LambdaRuntimeEmulator.Answer
        {
            let id = emulator.enqueue(event, deadline: deadline)
            guard let answer = emulator.answer(id, timeout: timeout) else {
                let outcome = finish()
                throw CommandLineTool.Missing(
                    description: "no answer to \(id) within \(timeout) s; stderr: \(outcome.stderr)")
            }
            return answer
        }

        /// Stops the emulator; the function must exit within 15 s (else it is killed and the test fails).
        func finish() -> CommandLineTool.Outcome {
            emulator.stop()
            let limit = Timestamp().addingTimeInterval(15)
            while running.process.isRunning, Timestamp() < limit { Thread.sleep(forTimeInterval: 0.05) }
            let exited = !running.process.isRunning
            if !exited { running.signal(SIGKILL) }
            let outcome = running.wait()
            #expect(exited, "the function did not exit after the Runtime API went away")
            return outcome
        }

        /// The per-object JSON log lines of a finished run's stderr.
        static func logLines(_ outcome: CommandLineTool.Outcome) -> [[String: Any]] {
            outcome.stderr.split(separator: "\n").compactMap {
                guard $0.hasPrefix("{") else { return nil }
                return (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
            }
        }
    }

    /// A key as S3 writes it into a notification: form-URL-encoded (space as +).
    static func encodedKey(_ key: String) -> String {
        var allowed = CharacterSet.alphanumerics.intersection(
            CharacterSet(charactersIn: Unicode.Scalar(0)..<Unicode.Scalar(128)))
        allowed.insert(charactersIn: "-_.~/ ")
        return key.addingPercentEncoding(withAllowedCharacters: allowed)!.replacingOccurrences(of: " ", with: "+")
    }

    static func s3Record(_ bucket: String, _ key: String, event: String = "ObjectCreated:Put") -> [String: Any] {
        [
            "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1", "eventName": event,
            "s3": [
                "s3SchemaVersion": "1.0", "bucket": ["name": bucket, "arn": "arn:aws:s3:::\(bucket)"],
                "object": ["key": encodedKey(key), "size": 1],
            ],
        ]
    }

    static func json(_ value: Any) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: value), as: UTF8.self)
    }

    static func s3Event(_ records: [[String: Any]]) throws -> String { try json(["Records": records]) }

    let client: S3Client
    let server: S3TestServer
    let folder: FixtureFolder

    init() throws {
        (client, server) = try CommandMoto.client()
        folder = try FixtureFolder()
    }

    /// The MP3 the CLI makes of `bytes` with `options`: the reference a Lambda output must equal.
    func cliMP3(_ bytes: [UInt8], options: [String] = []) throws -> [UInt8] {
        let name = UUID().uuidString
        try folder.write("\(name).wav", bytes)
        let output = folder.url.appendingPathComponent("\(name).mp3").path
        let run = try CommandLineTool.run(
            [folder.url.appendingPathComponent("\(name).wav").path, output, "--quiet"] + options,
            environment: CommandLineTool.environment(for: server))
        #expect(run.status == 0, "\(run.stderr)")
        return try Array(Data(contentsOf: URL(fileURLWithPath: output)))
    }

    @Test("a 3-record S3 event: 3 objects byte-identical to CLI runs; ObjectRemoved and unmatched keys skipped")
    func threeRecords() throws {
        let bucket = try CommandMoto.bucket(client, "lambda-s3")
        try client.createBucket(bucket + "-mp3")
        let keys = ["in/a.wav", "in/b take.wav", "in/deep/c.WAV"]
        var expected: [String: [UInt8]] = [:]
        for (index, key) in keys.enumerated() {
            let bytes = FixtureFolder.shortWAV(seed: index).bytes()
            _ = try client.putObject(bucket: bucket, key: key, body: bytes)
            expected[key] = try cliMP3(bytes, options: ["--vbr", "3"])
        }
        var environment = CommandLineTool.environment(for: server)
        environment["S3TRANSCODE_DEST"] = "s3://{bucket}-mp3/{dir}/{stem}.mp3"
        environment["S3TRANSCODE_VBR"] = "3"
        let function = try Function(environment: environment)
        let records =
            keys.map { Self.s3Record(bucket, $0) }
            + [
                Self.s3Record(bucket, "in/gone.wav", event: "ObjectRemoved:Delete"),
                Self.s3Record(bucket, "in/notes.txt"),
            ]
        let answer = try function.invoke(try Self.s3Event(records))
        let outcome = function.finish()
        #expect(answer.kind == "response", "\(answer.text) \(outcome.stderr)")
        let outputs = try #require(answer.json?["outputs"] as? [String])
        #expect(
            outputs == [
                "s3://\(bucket)-mp3/in/a.mp3", "s3://\(bucket)-mp3/in/b take.mp3", "s3://\(bucket)-mp3/in/deep/c.mp3",
            ])
        for key in keys {
            let outputKey = (key as NSString).deletingPathExtension + ".mp3"
            #expect(try client.getObject(bucket: bucket + "-mp3", key: outputKey).body == expected[key], "\(key)")
        }
        let lines = Function.logLines(outcome)
        #expect(lines.filter { $0["status"] as? String == "uploaded" }.count == 3)
        #expect(
            lines.contains {
                $0["status"] as? String == "skipped" && ($0["reason"] as? String)?.contains("ObjectRemoved") == true
            })
        #expect(
            lines.contains {
                $0["source"] as? String == "s3://\(bucket)/in/notes.txt" && $0["status"] as? String == "skipped"
            })
        for line in lines where line["status"] as? String == "uploaded" {
            #expect(
                (line["seconds"] as? Double ?? 0) > 0 && line["audioSeconds"] is Double && line["bytes"] is Int
                    && line["requestId"] is String)
        }
        #expect(!outcome.stderr.contains(server.secretAccessKey))
    }

    @Test("keys with spaces, +, unicode and % (moto without signature checks: its checker refuses such keys)")
    func awkwardKeys() throws {
        let noAuth = S3Client(
            configuration: .init(region: server.region, endpoint: S3Endpoint(custom: server.noAuthEndpoint)),
            transport: CommandMoto.transport,
            credentials: .fixed(
                .init(
                    accessKeyId: server.accessKeyId,
                    secretAccessKey: server.secretAccessKey)))
        let bucket = S3TestServer.uniqueBucketName("lambda-keys")
        try noAuth.createBucket(bucket)
        let keys = ["in/a b.wav", "in/a+b.wav", "in/ünï cödé.wav", "in/100% done.wav", "in/x=y&z.wav"]
        for (index, key) in keys.enumerated() {
            _ = try noAuth.putObject(bucket: bucket, key: key, body: FixtureFolder.shortWAV(seed: index).bytes())
        }
        var environment = CommandLineTool.environment(for: server)
        environment["AWS_ENDPOINT_URL_S3"] = server.noAuthEndpoint
        environment["S3TRANSCODE_DEST"] = "s3://{bucket}/mp3/{stem}.mp3"
        let function = try Function(environment: environment)
        let answer = try function.invoke(try Self.s3Event(keys.map { Self.s3Record(bucket, $0) }))
        let outcome = function.finish()
        #expect(answer.kind == "response", "\(answer.text) \(outcome.stderr)")
        let stored = Set(try noAuth.listAllObjects(bucket: bucket, prefix: "mp3/").map(\.key))
        #expect(
            stored
                == Set(
                    keys.map {
                        "mp3/" + (($0 as NSString).lastPathComponent as NSString).deletingPathExtension + ".mp3"
                    }))
    }

    @Test("SQS batch: a corrupt WAV fails exactly its message; SNS envelopes and test events are understood")
    func sqsBatch() throws {
        let bucket = try CommandMoto.bucket(client, "lambda-sqs")
        for index in 0..<3 {
            _ = try client.putObject(
                bucket: bucket, key: "in/\(index).wav", body: FixtureFolder.shortWAV(seed: index).bytes())
        }
        _ = try client.putObject(
            bucket: bucket, key: "in/broken.wav",
            body: Array("RIFF....WAVEfmt this is not audio at all".utf8) + [UInt8](repeating: 7, count: 3000))
        func message(_ id: String, _ body: String) -> [String: Any] {
            [
                "messageId": id, "receiptHandle": "h-\(id)", "body": body, "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:wavs", "attributes": [String: Any](),
            ]
        }
        let sns = try Self.json([
            "Type": "Notification", "MessageId": "n1", "Message": try Self.s3Event([Self.s3Record(bucket, "in/2.wav")]),
        ])
        let event = try Self.json([
            "Records": [
                message("m-0", try Self.s3Event([Self.s3Record(bucket, "in/0.wav")])),
                message("m-broken", try Self.s3Event([Self.s3Record(bucket, "in/broken.wav")])),
                message("m-1", try Self.s3Event([Self.s3Record(bucket, "in/1.wav")])),
                message("m-sns", sns),
                message("m-test", try Self.json(["Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": bucket])),
            ]
        ])
        var environment = CommandLineTool.environment(for: server)
        environment["S3TRANSCODE_DEST"] = "s3://{bucket}/mp3/{stem}.mp3"
        let function = try Function(environment: environment)
        let answer = try function.invoke(event)
        let outcome = function.finish()
        #expect(answer.kind == "response", "\(answer.text) \(outcome.stderr)")
        let failures = try #require(answer.json?["batchItemFailures"] as? [[String: Any]], "\(answer.text)")
        #expect(failures.map { $0["itemIdentifier"] as? String } == ["m-broken"])
        #expect(
            Set(try client.listAllObjects(bucket: bucket).map(\.key).filter { $0.hasPrefix("mp3/") }) == [
                "mp3/0.mp3", "mp3/1.mp3", "mp3/2.mp3",
            ])
        #expect(try client.listMultipartUploads(bucket: bucket).isEmpty)
        let failed = Function.logLines(outcome).filter { $0["status"] as? String == "failed" }
        #expect(failed.count == 1 && failed.first?["messageId"] as? String == "m-broken")
    }

    @Test(
        "started as bootstrap with no arguments: an EventBridge Object Created event, then a direct event with a failure"
    )
    func bootstrapEventBridge() throws {
        let bucket = try CommandMoto.bucket(client, "lambda-eb")
        let bytes = FixtureFolder.shortWAV(seed: 7).bytes()
        _ = try client.putObject(bucket: bucket, key: "in/take 7.wav", body: bytes)
        let link = folder.url.appendingPathComponent("task/bootstrap")
        try FileManager.default.createDirectory(at: link.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: try CommandLineTool.binary())
        var environment = CommandLineTool.environment(for: server)
        environment["S3TRANSCODE_DEST"] = "s3://{bucket}/mp3/{relpath}.mp3"
        let function = try Function(environment: environment, arguments: [], executable: link.path)
        let event = try Self.json([
            "version": "0", "id": "e1", "detail-type": "Object Created", "source": "aws.s3",
            "detail": ["bucket": ["name": bucket], "object": ["key": "in/take 7.wav", "size": bytes.count]],
        ])
        let answer = try function.invoke(event)
        // A direct S3 event naming a missing object: an error response that names the key.
        let missing = try function.invoke(try Self.s3Event([Self.s3Record(bucket, "in/missing.wav")]))
        let outcome = function.finish()
        #expect(answer.kind == "response", "\(answer.text) \(outcome.stderr)")
        #expect(try client.getObject(bucket: bucket, key: "mp3/in/take 7.wav.mp3").body == (try cliMP3(bytes)))
        #expect(missing.kind == "error" && missing.errorType == "S3Transcode.Failed")
        #expect(
            (missing.json?["errorMessage"] as? String)?.contains("s3://\(bucket)/in/missing.wav") == true,
            "\(missing.text)")
    }

    @Test("S3TRANSCODE_SKIP_EXISTING: a redelivered event finds the MP3 up to date (source fingerprint) and skips it")
    func skipExisting() throws {
        let bucket = try CommandMoto.bucket(client, "lambda-skip")
        _ = try client.putObject(bucket: bucket, key: "in/a.wav", body: FixtureFolder.shortWAV(seed: 3).bytes())
        var environment = CommandLineTool.environment(for: server)
        environment["S3TRANSCODE_DEST"] = "s3://{bucket}/mp3/{stem}.mp3"
        environment["S3TRANSCODE_SKIP_EXISTING"] = "true"
        let function = try Function(environment: environment)
        let event = try Self.s3Event([Self.s3Record(bucket, "in/a.wav")])
        let first = try function.invoke(event)
        let etag = try client.headObject(bucket: bucket, key: "mp3/a.mp3").etag
        let again = try function.invoke(event)
        // A changed source is transcoded again.
        _ = try client.putObject(bucket: bucket, key: "in/a.wav", body: FixtureFolder.shortWAV(seed: 4).bytes())
        let changed = try function.invoke(event)
        let outcome = function.finish()
        #expect(first.json?["outputs"] as? [String] == ["s3://\(bucket)/mp3/a.mp3"], "\(first.text) \(outcome.stderr)")
        #expect(again.json?["skipped"] as? [String] == ["s3://\(bucket)/in/a.wav"], "\(again.text)")
        #expect(changed.json?["outputs"] as? [String] == ["s3://\(bucket)/mp3/a.mp3"], "\(changed.text)")
        #expect(try client.headObject(bucket: bucket, key: "mp3/a.mp3").etag != etag)
        let reasons = Function.logLines(outcome).compactMap { $0["reason"] as? String }
        #expect(reasons.count == 1 && reasons[0].contains("up to date"))
    }

    @Test("an output the include globs would take again is not transcoded; a looping template is refused at init")
    func loopProtection() throws {
        let bucket = try CommandMoto.bucket(client, "lambda-loop")
        _ = try client.putObject(bucket: bucket, key: "in/a.wav", body: FixtureFolder.shortWAV(seed: 1).bytes())
        var environment = CommandLineTool.environment(for: server)
        environment["S3TRANSCODE_DEST"] = "s3://\(bucket)/out/{stem}.mp3"
        environment["S3TRANSCODE_INCLUDE"] = "*.wav,*.mp3"
        let function = try Function(environment: environment)
        let answer = try function.invoke(try Self.s3Event([Self.s3Record(bucket, "in/a.wav")]))
        let outcome = function.finish()
        #expect(
            answer.kind == "response" && answer.json?["skipped"] as? [String] == ["s3://\(bucket)/in/a.wav"],
            "\(answer.text)")
        #expect(try client.listAllObjects(bucket: bucket).allSatisfy { !$0.key.hasPrefix("out/") })
        #expect(outcome.stderr.contains("start the function again"))

        environment["S3TRANSCODE_DEST"] = "s3://{bucket}/{dir}/{stem}.mp3"
        let refused = try Function(environment: environment)
        let initError = refused.emulator.answer("init", timeout: 30)
        let refusedOutcome = refused.finish()
        #expect(initError?.kind == "init-error" && initError?.errorType == "Runtime.ConfigurationError")
        #expect((initError?.json?["errorMessage"] as? String)?.contains("S3TRANSCODE_INCLUDE") == true)
        #expect(refusedOutcome.status == 78)
        #expect(refused.emulator.requests.allSatisfy { $0.method == "POST" })  // it never asked for an event
    }

    /// A 10-minute WAV cannot be encoded in the seconds left: the function stops, aborts, and answers
    /// before the deadline; nothing is left in the bucket.
    @Test("deadline: stopped and reported before the deadline, the upload aborted, nothing left")
    func deadline() throws {
        let bucket = try CommandMoto.bucket(client, "lambda-deadline")
        let long = try FixtureFolder.repeatedWAV(
            WAVFixture(sampleRate: 32_000, channels: 1, frequency: 300), seconds: 600)
        _ = try client.putObject(bucket: bucket, key: "in/long.wav", body: long)
        var environment = CommandLineTool.environment(for: server)
        environment["S3TRANSCODE_DEST"] = "s3://{bucket}/mp3/{stem}.mp3"
        environment["S3TRANSCODE_BITRATE"] = "320"
        let event = try Self.s3Event([Self.s3Record(bucket, "in/long.wav")])

        // The issue's case: 2 s away, the default 3 s margin and the pace estimate.
        let function = try Function(environment: environment)
        let deadline = Timestamp().addingTimeInterval(2)
        let answer = try function.invoke(event, deadline: deadline, timeout: 30)
        // With no estimate and a 1 s margin the job runs until an upload is in flight, then is stopped:
        // a 30-minute 16 kHz mono WAV (58 MB) encoded as 48 kHz stereo: small to store, slow to encode
        // (60 to 170× realtime on this machine, so 11 to 30 s), while part 1 (5 MiB at 320 kbit/s) is
        // full after 131 s of audio, 1 to 3 s; the stop comes at 7 s, whatever the machine's load.
        let slow = try FixtureFolder.repeatedWAV(
            WAVFixture(sampleRate: 16_000, channels: 1, frequency: 300), seconds: 1800)
        _ = try client.putObject(bucket: bucket, key: "in/slow.wav", body: slow)
        environment["S3TRANSCODE_DEADLINE_MARGIN"] = "1"
        environment["S3TRANSCODE_DEADLINE_ESTIMATE"] = "false"
        environment["S3TRANSCODE_ARGS"] = "--sample-rate 48000 --channels 2"
        let outcome = function.finish()
        #expect(
            answer.kind == "error" && answer.receivedAt < deadline,
            "\(answer.text) at \(answer.receivedAt) \(outcome.stderr)")
        #expect((answer.json?["errorMessage"] as? String)?.contains("Lambda deadline") == true, "\(answer.text)")
        #expect(try client.listAllObjects(bucket: bucket).allSatisfy { !$0.key.hasPrefix("mp3/") })
        #expect(try client.listMultipartUploads(bucket: bucket).isEmpty)

        let second = try Function(environment: environment)
        let late = Timestamp().addingTimeInterval(8)
        let id = second.emulator.enqueue(try Self.s3Event([Self.s3Record(bucket, "in/slow.wav")]), deadline: late)
        var sawUpload = false
        while Timestamp() < late, second.emulator.answers.isEmpty {
            if try !client.listMultipartUploads(bucket: bucket).isEmpty { sawUpload = true }
            Thread.sleep(forTimeInterval: 0.1)
        }
        let stopped = second.emulator.answer(id, timeout: 30)
        let secondOutcome = second.finish()
        #expect(sawUpload, "no multipart upload was in flight before the deadline: the test did not exercise the abort")
        #expect(
            stopped?.kind == "error" && stopped.map { $0.receivedAt < late } == true,
            "\(stopped?.text ?? "no answer") \(secondOutcome.stderr)")
        #expect(try client.listAllObjects(bucket: bucket).allSatisfy { !$0.key.hasPrefix("mp3/") })
        #expect(try client.listMultipartUploads(bucket: bucket).isEmpty)
        // The pace estimate (on by default) stops the same job as soon as a second of progress shows
        // it cannot finish: long before the margin.
        environment["S3TRANSCODE_DEADLINE_ESTIMATE"] = nil
        let third = try Function(environment: environment)
        let later = Timestamp().addingTimeInterval(8)
        let estimated = try third.invoke(
            try Self.s3Event([Self.s3Record(bucket, "in/slow.wav")]), deadline: later, timeout: 30)
        let thirdOutcome = third.finish()
        #expect(
            estimated.kind == "error" && later.timeIntervalSince(estimated.receivedAt) > 2.5,
            "\(estimated.text) \(later.timeIntervalSince(estimated.receivedAt)) s before the deadline \(thirdOutcome.stderr)"
        )
        #expect((estimated.json?["errorMessage"] as? String)?.contains("realtime") == true, "\(estimated.text)")
        #expect(try client.listMultipartUploads(bucket: bucket).isEmpty)
        print(
            "lambda deadline: answered \(later.timeIntervalSince(estimated.receivedAt)) s before an 8 s deadline: \(estimated.text)"
        )
        print(
            "lambda deadline: answered \(deadline.timeIntervalSince(answer.receivedAt)) s before a 2 s deadline: \(answer.text)"
        )
        print(
            "lambda deadline: answered \(stopped.map { late.timeIntervalSince($0.receivedAt) } ?? -1) s before an 8 s deadline: "
                + (stopped?.text ?? ""))
    }

    /// VmRSS of a running process, in KiB.
    static func residentKiB(_ pid: Int32) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
        else { return nil }
        return Int(line.split(separator: " ", omittingEmptySubsequences: true)[1])
    }

    @Test("40 warm invocations in one process: no leak (RSS floor up < 2 MiB in 30 invocations), one pool")
    func warmInvocations() throws {
        let bucket = try CommandMoto.bucket(client, "lambda-warm")
        let bytes = WAVFixture(sampleRate: 44_100, channels: 2, frames: 441_000).bytes()  // 10 s
        let invocations = 40
        for index in 0..<invocations {
            _ = try client.putObject(bucket: bucket, key: "in/\(index).wav", body: bytes)
        }
        var environment = CommandLineTool.environment(for: server)
        environment["S3TRANSCODE_DEST"] = "s3://{bucket}/mp3/{stem}.mp3"
        let function = try Function(environment: environment)
        var resident: [Int] = []
        for index in 0..<invocations {
            let answer = try function.invoke(try Self.s3Event([Self.s3Record(bucket, "in/\(index).wav")]))
            #expect(answer.kind == "response", "\(answer.text)")
            resident.append(Self.residentKiB(function.running.process.processIdentifier) ?? -1)
        }
        let outcome = function.finish()
        // Warm-up: the first invocations load codecs and fill the allocator's arenas. After each one
        // the RSS sits on a floor or about 1.15 MiB above it, in any proportion and for any stretch
        // ([…, 52996, 54152, 52996, 54152, 54152, …], or high from some invocation on): comparing
        // the peaks of invocations 2-10 and 11-19 failed 2 runs in 8 on that alone, their medians
        // 1 in 4, their floors 1 in 3. A leak lifts every sample, the floor too, and keeps lifting
        // it: the floors of invocations 2-10 and 31-39 differ by less than 2 MiB, so a leak of
        // 70 KiB or more per invocation fails, and the two-level swing (1.15 MiB) does not.
        let growth = resident[31..<40].min()! - resident[2..<11].min()!
        #expect(growth < 2048, "RSS after each invocation (KiB): \(resident)")
        // One transport for the whole process: its request counter goes on from one invocation to the
        // next (a session per invocation would start again from a few). moto closes every connection,
        // so reuse itself is not visible here (CurlTransportTests shows it with a keep-alive server).
        let requests = Function.logLines(outcome).compactMap { $0["requests"] as? Int }
        #expect(requests.count == invocations)
        #expect(
            zip(requests, requests.dropFirst()).allSatisfy { $0 < $1 }
                && requests.last! >= invocations * (requests.first ?? 0),
            "S3 requests after each invocation: \(requests)")
        print("lambda warm invocations: RSS KiB \(resident); S3 requests so far \(requests)")
    }
}
