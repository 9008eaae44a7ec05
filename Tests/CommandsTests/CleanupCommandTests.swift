import Basics
import Foundation
import S3
import SigV4
import TestSupport
import Testing

@testable import S3TranscodeCommands

/// `s3transcode cleanup` through the binary against the SigV4-checking moto, and LocalStack.
///
/// moto reports every upload's `Initiated` as 2010-11-10T20:48:33Z whatever the time, so every
/// upload there is about 16 years old: `--older-than 0s` (or `1h`) takes them all, and a limit
/// longer than that (`10000d`) keeps them all as younger. LocalStack reports the real time, so
/// there the uploads are seconds old and only `0s` takes them (`stale(_:)`). Prefixes here have no `/`: moto's signature
/// checker rejects a percent-encoded query value (`prefix=old%2F`) that S3 accepts.
@Suite("cleanup command against moto", .serialized)
struct CleanupCommandTests {
    let client: S3Client
    let server: S3TestServer
    let bucket: String
    /// Upload IDs by key: two under `old/`, one under `keep/`.
    let uploads: [String: String]

    init() throws {
        (client, server) = try CommandMoto.client()
        bucket = try CommandMoto.bucket(client, "cleanup")
        var uploads: [String: String] = [:]
        for key in ["old/a.mp3", "old/b.mp3", "keep/c.mp3"] {
            uploads[key] = try client.createMultipartUpload(bucket: bucket, key: key)
        }
        self.uploads = uploads
    }

    /// An age that every upload made in `init` is older than: `onMoto` where moto dates them 2010,
    /// `0s` on LocalStack, which dates them now.
    func stale(_ onMoto: String) -> String { server.backend == .moto ? onMoto : "0s" }

    func run(_ arguments: [String]) throws -> CommandLineTool.Outcome {
        try CommandLineTool.run(["cleanup"] + arguments, environment: CommandLineTool.environment(for: server))
    }

    func remainingKeys() throws -> [String] {
        try client.listMultipartUploads(bucket: bucket).map(\.key).sorted()
    }

    @Test("without --yes: prints what it would abort under the prefix, changes nothing, says to add --yes")
    func dryRun() throws {
        let age = stale("1h")
        let outcome = try run(["s3://\(bucket)/old", "--older-than", age])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stdoutLines.count == 2)
        for key in ["old/a.mp3", "old/b.mp3"] {
            #expect(
                outcome.stdoutLines.contains {
                    $0.hasPrefix("would abort s3://\(bucket)/\(key) (upload \(uploads[key]!)")
                })
        }
        #expect(!outcome.stdout.contains("keep/"))
        #expect(outcome.stderr.contains("2 incomplete multipart uploads older than \(age) would be aborted"))
        #expect(outcome.stderr.contains("add --yes"))
        #expect(try remainingKeys() == ["keep/c.mp3", "old/a.mp3", "old/b.mp3"])
    }

    @Test("--yes aborts the stale uploads under the prefix and only those")
    func abortsUnderPrefix() throws {
        let outcome = try run(["s3://\(bucket)/old", "--older-than", "0s", "--yes"])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stdoutLines.filter { $0.hasPrefix("aborted s3://\(bucket)/old/") }.count == 2)
        #expect(outcome.stderr.contains("aborted 2 of 2"))
        #expect(try remainingKeys() == ["keep/c.mp3"])
        // Run again: nothing left to do there.
        let again = try run(["s3://\(bucket)/old", "--older-than", "0s", "--yes"])
        #expect(again.status == 0)
        #expect(again.stdout.isEmpty)
        #expect(again.stderr.contains("no incomplete multipart upload older than 0s"))
    }

    @Test("the whole bucket, s3://BUCKET with or without a slash")
    func wholeBucket() throws {
        let dry = try run(["s3://\(bucket)", "--older-than", stale("7d")])
        #expect(dry.status == 0 && dry.stdoutLines.count == 3, "\(dry.stderr)")
        let outcome = try run(["s3://\(bucket)/", "--older-than", stale("7d"), "--yes", "--quiet"])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stderr.isEmpty)
        #expect(try remainingKeys().isEmpty)
    }

    @Test("uploads younger than the limit are kept and counted")
    func youngerKept() throws {
        let outcome = try run(["s3://\(bucket)", "--older-than", "10000d", "--yes"])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stdout.isEmpty)
        #expect(outcome.stderr.contains("kept 3 younger"))
        #expect(try remainingKeys().count == 3)
    }

    @Test("--json: one object per upload, then a summary object")
    func json() throws {
        let outcome = try run(["s3://\(bucket)/ol", "--older-than", "0s", "--yes", "--json"])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let objects = try jsonObjects(outcome)
        #expect(objects.count == 3)
        let perUpload = objects.dropLast()
        #expect(Set(perUpload.compactMap { $0["key"] as? String }) == ["old/a.mp3", "old/b.mp3"])
        for object in perUpload {
            #expect(object["action"] as? String == "aborted")
            #expect(object["bucket"] as? String == bucket)
            #expect(object["uploadId"] as? String == uploads[object["key"] as? String ?? ""])
            // moto dates every upload 2010; LocalStack dates it now, so there it may be 0 s old.
            #expect((object["ageSeconds"] as? Int ?? -1) >= (server.backend == .moto ? 1 : 0))
        }
        let summary = try #require(objects.last)
        #expect(summary["summary"] as? Bool == true)
        #expect(summary["stale"] as? Int == 2)
        #expect(summary["aborted"] as? Int == 2)
        #expect(summary["failed"] as? Int == 0)
        #expect(summary["dryRun"] as? Bool == false)
        #expect(try remainingKeys() == ["keep/c.mp3"])
    }

    @Test("a missing bucket exits 69 with one line")
    func missingBucket() throws {
        let missing = try run(["s3://\(bucket)-missing", "--older-than", "0s", "--yes"])
        #expect(missing.status == 69)
        #expect(missing.stderr.contains("NoSuchBucket"))
        #expect(missing.stderr.split(separator: "\n").count == 1)
    }

    @Test(
        "rejected credentials exit 77 with one line, the secret nowhere",
        .enabled(if: S3TestServer.selectedBackend == .moto, "LocalStack accepts any secret on ordinary requests"))
    func rejectedCredentials() throws {
        var environment = CommandLineTool.environment(for: server)
        environment["AWS_SECRET_ACCESS_KEY"] = "not-the-secret-key-0123456789abcdefghijk"
        let rejected = try CommandLineTool.run(
            ["cleanup", "s3://\(bucket)", "--older-than", "0s", "--yes"], environment: environment)
        #expect(rejected.status == 77)
        #expect(rejected.stderr.contains("SignatureDoesNotMatch"))
        #expect(!rejected.stderr.contains("not-the-secret-key"))
        #expect(try remainingKeys().count == 3)
    }

    @Test(
        "bad arguments exit 64 before any request",
        arguments: [
            ["cleanup-bucket", "--older-than", "1h"],
            ["s3:///prefix", "--older-than", "1h"],
            ["s3://bucket", "--older-than", "3x"],
            ["s3://bucket", "--older-than", "-5"],
            ["s3://bucket"],
        ])
    func badArguments(_ arguments: [String]) throws {
        let outcome = try run(arguments)
        #expect(outcome.status == 64, "\(outcome.stderr)")
    }
}

@Suite("cleanup: targets and ages (no server)")
struct CleanupUnitTests {
    @Test func targets() throws {
        let parsed = { (text: String) throws -> [String?] in
            let target = try CleanupTarget(parsing: text)
            return [target.bucket, target.prefix]
        }
        #expect(try parsed("s3://b") == ["b", nil])
        #expect(try parsed("s3://b/") == ["b", nil])
        #expect(try parsed("s3://b/music/") == ["b", "music/"])
        #expect(try parsed("s3://b/a b/c") == ["b", "a b/c"])
        #expect(throws: CommandFailure.self) { try CleanupTarget(parsing: "b/music") }
        #expect(throws: CommandFailure.self) { try CleanupTarget(parsing: "s3://") }
    }

    @Test("an upload is stale at exactly the limit; missing or unreadable start times are kept")
    func plan() {
        let now = Timestamp(timeIntervalSince1970: 1_800_000_000)
        let iso = { (secondsAgo: Int) in AmzDate(now.addingTimeInterval(-Double(secondsAgo))).iso8601 }
        let uploads = [
            MultipartUploadSummary(key: "a", uploadId: "1", initiated: iso(7200)),
            MultipartUploadSummary(key: "b", uploadId: "2", initiated: iso(3600)),
            MultipartUploadSummary(key: "c", uploadId: "3", initiated: iso(3599)),
            MultipartUploadSummary(key: "d", uploadId: "4", initiated: nil),
            MultipartUploadSummary(key: "e", uploadId: "5", initiated: "yesterday"),
        ]
        let plan = CleanupPlan(uploads: uploads, now: now, olderThan: 3600)
        #expect(plan.stale.map { $0.upload.key } == ["a", "b"])
        #expect(plan.stale.map { $0.ageSeconds } == [7200, 3600])
        #expect(plan.younger == 1)
        #expect(plan.undated == 2)
    }

    @Test(arguments: [
        (0, "0s"), (45, "45s"), (60, "1m"), (3600, "1h"), (3660, "1h 1m"), (86400, "1d"), (90000, "1d 1h"),
    ])
    func ages(_ seconds: Int, _ text: String) {
        #expect(CleanupOutcome.age(seconds) == text)
    }

    @Test("durations as people type them; one too long for an Int is no duration, not a crash")
    func durations() {
        #expect(Units.seconds("90s") == 90)
        #expect(Units.seconds("1h30m") == 5400)
        #expect(Units.seconds("2w") == 1_209_600)
        #expect(Units.seconds("3600") == 3600)
        #expect(Units.seconds("99999999999999999d") == nil)
        #expect(Units.seconds("9223372036854775807s1s") == nil)
        #expect(Units.seconds("99999999999999999999") == nil)
        #expect(Units.seconds("3x") == nil)
    }

    @Test(
        "a duration too long to count is a usage error (exit 64) with a message, for cleanup and presign",
        arguments: [
            ["cleanup", "s3://bucket", "--older-than", "99999999999999999d"],
            ["presign", "s3://bucket/key", "--expires", "99999999999999999d"],
        ])
    func overlongDuration(_ arguments: [String]) throws {
        let outcome = try CommandLineTool.run(arguments, environment: CommandLineTool.bareEnvironment())
        #expect(outcome.status == 64, "\(outcome.stderr)")
        #expect(outcome.stderr.contains("99999999999999999d: give a duration"), "\(outcome.stderr)")
    }
}
