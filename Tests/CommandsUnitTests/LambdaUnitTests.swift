import AWSConfig
import Basics
import Foundation
import HTTPClient
import Testing

@testable import AudioTranscode
@testable import S3TranscodeCommands

@Suite("lambda: events, destination template, configuration, answers (no server)")
struct LambdaUnitTests {
    static func s3Record(_ bucket: String, _ key: String, event: String = "ObjectCreated:Put") -> String {
        #"{"eventSource":"aws:s3","eventName":"\#(event)","s3":{"bucket":{"name":"\#(bucket)"},"object":{"key":"\#(key)","size":10}}}"#
    }

    static func json(_ text: String) -> String {
        String(data: try! JSONSerialization.data(withJSONObject: text, options: .fragmentsAllowed), encoding: .utf8)!
    }

    @Test(
        "S3 keys are decoded as S3 encodes them: + is a space, then percent escapes",
        arguments: [
            ("a+b.wav", "a b.wav"), ("a%2Bb.wav", "a+b.wav"), ("100%25.wav", "100%.wav"),
            ("%C3%BCn%C3%AF+c%C3%B6d%C3%A9.wav", "ünï cödé.wav"), ("dir/x.wav", "dir/x.wav"),
            ("bad%zz.wav", "bad%zz.wav"),
        ])
    func keyDecoding(_ raw: String, _ decoded: String) throws {
        let event = try LambdaEvent(json: Array(#"{"Records":[\#(Self.s3Record("b", raw))]}"#.utf8))
        #expect(event.objects == [.init(bucket: "b", key: decoded)])
    }

    @Test("every record of an S3 event; ObjectRemoved skipped")
    func s3Event() throws {
        let text =
            #"{"Records":[\#(Self.s3Record("b", "a.wav")),\#(Self.s3Record("b", "x/b+c.wav")),"#
            + #"\#(Self.s3Record("b", "gone.wav", event: "ObjectRemoved:Delete"))]}"#
        let event = try LambdaEvent(json: Array(text.utf8))
        #expect(event.objects == [.init(bucket: "b", key: "a.wav"), .init(bucket: "b", key: "x/b c.wav")])
        #expect(event.skipped.count == 1 && event.skipped[0].what == "s3://b/gone.wav")
        #expect(!event.isSQS)
    }

    @Test("SQS: S3 event bodies, an SNS envelope, a test event, an unreadable body")
    func sqs() throws {
        let s3Body = Self.json(#"{"Records":[\#(Self.s3Record("b", "one.wav"))]}"#)
        let sns = Self.json(
            #"{"Type":"Notification","Message":\#(Self.json(#"{"Records":[\#(Self.s3Record("b", "two.wav"))]}"#))}"#)
        let test = Self.json(#"{"Service":"Amazon S3","Event":"s3:TestEvent","Bucket":"b"}"#)
        let text =
            #"{"Records":[{"messageId":"m1","eventSource":"aws:sqs","body":\#(s3Body)},"#
            + #"{"messageId":"m2","eventSource":"aws:sqs","body":\#(sns)},"#
            + #"{"messageId":"m3","eventSource":"aws:sqs","body":\#(test)},"#
            + #"{"messageId":"m4","eventSource":"aws:sqs","body":"not json"}]}"#
        let event = try LambdaEvent(json: Array(text.utf8))
        #expect(event.isSQS)
        #expect(
            event.objects == [
                .init(bucket: "b", key: "one.wav", messageId: "m1"),
                .init(bucket: "b", key: "two.wav", messageId: "m2"),
            ])
        #expect(event.skipped.map(\.messageId) == ["m3"])
        #expect(event.malformed.map(\.messageId) == ["m4"])
    }

    @Test("SNS records and EventBridge Object Created (keys not encoded)")
    func snsAndEventBridge() throws {
        let sns =
            #"{"Records":[{"EventSource":"aws:sns","Sns":{"Message":\#(Self.json(#"{"Records":[\#(Self.s3Record("b", "a+b.wav"))]}"#))}}]}"#
        #expect(try LambdaEvent(json: Array(sns.utf8)).objects == [.init(bucket: "b", key: "a b.wav")])
        let bridge =
            #"{"version":"0","detail-type":"Object Created","source":"aws.s3","detail":{"bucket":{"name":"b"},"object":{"key":"a+b c.wav"}}}"#
        #expect(try LambdaEvent(json: Array(bridge.utf8)).objects == [.init(bucket: "b", key: "a+b c.wav")])
        let deleted =
            #"{"detail-type":"Object Deleted","source":"aws.s3","detail":{"bucket":{"name":"b"},"object":{"key":"a.wav"}}}"#
        #expect(try LambdaEvent(json: Array(deleted.utf8)).skipped.count == 1)
    }

    @Test("an unknown event is an error, not a silent success")
    func unknownEvent() {
        #expect(throws: LambdaEvent.ParseError.self) { try LambdaEvent(json: Array(#"{"hello":"world"}"#.utf8)) }
        #expect(throws: LambdaEvent.ParseError.self) { try LambdaEvent(json: Array("[1,2]".utf8)) }
    }

    @Test("JSON as JSONSerialization read it: values of other types are absent, null counts as present")
    func jsonShapes() throws {
        // A key that is a number, a bucket that is null: read as missing (empty), not as an error.
        let odd =
            #"{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":null},"object":{"key":5}}}]}"#
        #expect(try LambdaEvent(json: Array(odd.utf8)).objects == [.init(bucket: "", key: "")])
        // An SQS record with "messageId": null is still SQS (the key is there).
        let body = Self.json(#"{"Records":[\#(Self.s3Record("b", "a.wav"))]}"#)
        let sqs = #"{"Records":[{"messageId":null,"body":\#(body)}]}"#
        let event = try LambdaEvent(json: Array(sqs.utf8))
        #expect(event.isSQS && event.objects == [.init(bucket: "b", key: "a.wav")])
        // Records that are not all objects: not a records list, so an unknown event.
        #expect(throws: LambdaEvent.ParseError.self) {
            try LambdaEvent(json: Array(#"{"Records":[\#(Self.s3Record("b", "a.wav")),7]}"#.utf8))
        }
        // Nested arrays, numbers, booleans and escapes elsewhere in the event do not matter.
        let noisy =
            #"{"x":[1,-2.5e3,true,false,null,[{}],"\u00e9\n"],"Records":[\#(Self.s3Record("b", "%E2%82%AC.wav"))]}"#
        #expect(try LambdaEvent(json: Array(noisy.utf8)).objects == [.init(bucket: "b", key: "€.wav")])
        for text in ["", "{", "nul", #"{"Records":}"#, "\u{FF}"] {
            #expect(throws: LambdaEvent.ParseError.self, "\(text)") { try LambdaEvent(json: Array(text.utf8)) }
        }
        #expect(throws: LambdaEvent.ParseError.self) { try LambdaEvent(json: Array(#""text""#.utf8)) }
    }

    @Test("S3TRANSCODE_INCLUDE and _EXCLUDE: comma-separated, blanks around each glob dropped, empty ones too")
    func globLists() throws {
        let configuration = try LambdaConfiguration(environment: [
            "S3TRANSCODE_DEST": "s3://out/{stem}.mp3", "S3TRANSCODE_INCLUDE": " *.wav ,\t*.flac\u{00A0}, ,",
            "S3TRANSCODE_EXCLUDE": "tmp/* ",
        ])
        #expect(configuration.filter.include == ["*.wav", "*.flac"])
        #expect(configuration.filter.exclude == ["tmp/*"])
    }

    @Test("the destination template: {bucket} and batch's fields")
    func destination() throws {
        let template = try DestinationTemplate("s3://{bucket}-mp3/{dir}/{stem}.mp3")
        #expect(template.destination(bucket: "in", key: "live/Take 5.WAV") == ("in-mp3", "live/Take 5.mp3"))
        #expect(template.destination(bucket: "in", key: "top.wav") == ("in-mp3", "top.mp3"))
        let keyed = try DestinationTemplate("s3://out/{bucket}/{relpath}.mp3")
        #expect(keyed.destination(bucket: "in", key: "a/b.wav") == ("out", "in/a/b.wav.mp3"))
        #expect(throws: CommandFailure.self) { try DestinationTemplate("s3://out/{bucket}.mp3") }  // one name for all
        #expect(throws: CommandFailure.self) { try DestinationTemplate("s3://out/{nope}.mp3") }
        #expect(throws: CommandFailure.self) { try DestinationTemplate("out/{stem}.mp3") }
        #expect(throws: CommandFailure.self) { try DestinationTemplate("s3://{stem}/{stem}.mp3") }
    }

    @Test("options come from S3TRANSCODE_ARGS and the single-option variables, validated as the CLI does")
    func options() throws {
        let configuration = try LambdaConfiguration(environment: [
            "S3TRANSCODE_DEST": "s3://{bucket}-mp3/{dir}/{stem}.mp3", "S3TRANSCODE_BITRATE": "320",
            "S3TRANSCODE_ARGS": #"--title "Take 5" --metadata 'k=v w' --part-size 8M"#,
            "S3TRANSCODE_SKIP_EXISTING": "true",
        ])
        #expect(configuration.options.encoding.bitrate == 320)
        #expect(configuration.options.tags.title == "Take 5")
        #expect(configuration.options.object.metadata == ["k=v w"])
        #expect(configuration.options.upload.partSize == "8M")
        #expect(configuration.skipExisting && configuration.filter.include == ["*.wav"])
        #expect(throws: CommandFailure.self) {
            try LambdaConfiguration(environment: [
                "S3TRANSCODE_DEST": "s3://o/{stem}.mp3", "S3TRANSCODE_BITRATE": "320",
                "S3TRANSCODE_VBR": "2",
            ])
        }
        #expect(throws: CommandFailure.self) {
            try LambdaConfiguration(environment: [
                "S3TRANSCODE_DEST": "s3://o/{stem}.mp3", "S3TRANSCODE_ARGS": "--bogus",
            ])
        }
        #expect(throws: CommandFailure.self) { try LambdaConfiguration(environment: [:]) }
    }

    @Test("a destination in the source bucket that the include globs match is refused at init")
    func loopRefusedAtInit() throws {
        for (dest, include) in [
            ("s3://{bucket}/{dir}/{stem}.mp3", "*.wav,*.mp3"), ("s3://{bucket}/{relpath}", "*.wav"),
            ("s3://{bucket}/out/{name}", "*"),
        ] {
            #expect(throws: CommandFailure.self, "\(dest) with \(include)") {
                try LambdaConfiguration(environment: ["S3TRANSCODE_DEST": dest, "S3TRANSCODE_INCLUDE": include])
            }
        }
        // The same bucket is fine when the outputs are not taken by the globs.
        let fine = try LambdaConfiguration(environment: ["S3TRANSCODE_DEST": "s3://{bucket}/mp3/{dir}/{stem}.mp3"])
        #expect(fine.refusal(bucket: "b", key: "in/a.wav", output: ("b", "mp3/in/a.mp3")) == nil)
        #expect(fine.refusal(bucket: "b", key: "mp3/in/a.mp3", output: ("b", "mp3/mp3/in/a.mp3")) != nil)  // not *.wav
        // A literal bucket that turns out to be the source's: refused per object.
        let literal = try LambdaConfiguration(environment: [
            "S3TRANSCODE_DEST": "s3://b/out/{stem}.mp3", "S3TRANSCODE_INCLUDE": "*.wav,*.mp3",
        ])
        #expect(literal.refusal(bucket: "b", key: "in/a.wav", output: ("b", "out/a.mp3")) != nil)
        #expect(literal.refusal(bucket: "c", key: "in/a.wav", output: ("b", "out/a.mp3")) == nil)
    }

    @Test(
        "shell words",
        arguments: [
            (#"--bitrate 320"#, ["--bitrate", "320"]),
            (#"  a  'b c'  "d \" e" f\ g "#, ["a", "b c", #"d " e"#, "f g"]),
            (#"--title ''"#, ["--title", ""]), ("", []),
        ])
    func shellWords(_ text: String, _ words: [String]) {
        #expect(AWSConfig.shellWords(text) == words)
    }

    @Test("S3TRANSCODE_ARGS with an unclosed quote is refused", arguments: [#"--title 'a"#, #"--title "a"#])
    func unbalancedArguments(_ text: String) {
        let failure = #expect(throws: CommandFailure.self) {
            try LambdaConfiguration(environment: ["S3TRANSCODE_DEST": "s3://out/{stem}.mp3", "S3TRANSCODE_ARGS": text])
        }
        #expect(failure?.message.hasPrefix("S3TRANSCODE_ARGS: a quote is not closed") == true)
    }

    @Test("answers: SQS names each failed message once; a direct event names every failed key")
    func answers() throws {
        var event = LambdaEvent()
        event.isSQS = true
        event.malformed = [.init(messageId: "m9", error: "bad")]
        let lines = [
            LambdaLogLine(requestId: "r", source: "s3://b/a.wav", status: "uploaded", seconds: 1, messageId: "m1"),
            LambdaLogLine(
                requestId: "r", source: "s3://b/c.wav", status: "failed", seconds: 1, error: "s3://b/c.wav: corrupt",
                messageId: "m2"),
            LambdaLogLine(
                requestId: "r", source: "s3://b/d.wav", status: "failed", seconds: 1, error: "x", messageId: "m2"),
        ]
        #expect(
            LambdaHandler.answer(event: event, lines: lines)
                == .response(Array(#"{"batchItemFailures":[{"itemIdentifier":"m9"},{"itemIdentifier":"m2"}]}"#.utf8)))
        event = LambdaEvent()
        guard case .error(let type, let message) = LambdaHandler.answer(event: event, lines: lines) else {
            Issue.record("a direct event with failures must be an error")
            return
        }
        #expect(type == "S3Transcode.Failed" && message.hasPrefix("2 of 3 objects failed: s3://b/c.wav: corrupt; x"))
    }

    @Test("the deadline watchdog cancels at deadline − margin, and not after finish()")
    func watchdog() throws {
        let flag = CancellationFlag()
        let started = Timestamp()
        let watchdog = DeadlineWatchdog(deadline: started.addingTimeInterval(1.3), margin: 1, cancellation: flag)
        while !flag.isCancelled, Timestamp().timeIntervalSince(started) < 5 { Thread.sleep(forTimeInterval: 0.01) }
        let fired = Timestamp().timeIntervalSince(started)
        #expect(flag.isCancelled && fired >= 0.25 && fired < 1.2, "fired after \(fired) s")
        #expect(watchdog.reason?.contains("Lambda deadline") == true)
        watchdog.finish()
        flag.reset()
        let quiet = DeadlineWatchdog(deadline: Timestamp().addingTimeInterval(1.2), margin: 1, cancellation: flag)
        quiet.finish()
        Thread.sleep(forTimeInterval: 0.4)
        #expect(!flag.isCancelled && quiet.reason == nil)
    }

    @Test("started as bootstrap with no arguments, the binary runs lambda")
    func bootstrapArguments() {
        #expect(S3Transcode.arguments(["/var/task/bootstrap"]) == ["lambda"])
        #expect(S3Transcode.arguments(["bootstrap"]) == ["lambda"])
        #expect(S3Transcode.arguments(["/var/task/bootstrap", "probe", "x.wav"]) == ["probe", "x.wav"])
        #expect(S3Transcode.arguments(["/usr/bin/s3transcode"]) == [])
    }

    @Test("the pace estimate stops a job that cannot finish before deadline − margin, and only such a job")
    func estimate() throws {
        let flag = CancellationFlag()
        let watchdog = DeadlineWatchdog(deadline: Timestamp().addingTimeInterval(10), margin: 1, cancellation: flag)
        defer { watchdog.finish() }
        watchdog.jobStarted()
        watchdog.estimate(TranscodeProgress(samplesDone: 0, sampleRate: 1000, totalSeconds: 15))
        Thread.sleep(forTimeInterval: 1.05)
        // 10× realtime: 0.5 s to go
        watchdog.estimate(TranscodeProgress(samplesDone: 10_000, sampleRate: 1000, totalSeconds: 15))
        #expect(!flag.isCancelled && watchdog.reason == nil)
        watchdog.jobStarted()
        watchdog.estimate(TranscodeProgress(samplesDone: 0, sampleRate: 1000, totalSeconds: 1000))
        Thread.sleep(forTimeInterval: 1.05)
        watchdog.estimate(TranscodeProgress(samplesDone: 10_000, sampleRate: 1000, totalSeconds: 1000))  // 99 s to go
        #expect(flag.isCancelled)
        #expect(watchdog.reason?.contains("realtime") == true, "\(watchdog.reason ?? "")")
    }
}
