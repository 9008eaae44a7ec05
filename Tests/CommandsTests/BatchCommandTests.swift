import Basics
import Foundation
import S3
import TestSupport
import Testing

/// The real `s3transcode batch` against moto with SigV4 checking on. Serialized: each case starts
/// processes that use both cores, and the SIGINT case depends on timing.
@Suite("batch command against moto", .serialized)
struct BatchCommandTests {
    /// The default template's key for a relative path, under `prefix`.
    static func key(_ relativePath: String, prefix: String) -> String {
        prefix + "/" + (relativePath as NSString).deletingPathExtension + ".mp3"
    }

    @Test(
        "30 files: every object at its key; --skip-existing reruns upload nothing; a changed source alone is uploaded again"
    )
    func batchThenSkipExisting() throws {
        let (client, server) = try CommandMoto.client()
        let bucket = try CommandMoto.bucket(client, "batch-all")
        let folder = try FixtureFolder()
        let paths = try folder.writeShortWAVs(30)
        let environment = CommandLineTool.environment(for: server)
        let destination = "s3://\(bucket)/mp3"

        let first = try CommandLineTool.run(
            ["batch", folder.path, destination, "--jobs", "2", "--json"], environment: environment)
        #expect(first.status == 0, "\(first.stderr)")
        let keys = try Set(client.listAllObjects(bucket: bucket).map(\.key))
        #expect(keys == Set(paths.map { BatchCommandTests.key($0, prefix: "mp3") }))

        // --json: one object per file with the documented fields, then the summary.
        let objects = try jsonObjects(first)
        #expect(objects.count == 31)
        let files = objects.filter { $0["type"] == nil }
        #expect(files.count == 30)
        for file in files {
            #expect(file["status"] as? String == "uploaded")
            #expect((file["destination"] as? String)?.hasPrefix("s3://\(bucket)/mp3/") == true)
            #expect((file["bytes"] as? Int ?? 0) > 0)
            #expect(abs((file["audioSeconds"] as? Double ?? 0) - 0.25) < 0.01)
            #expect(file["etag"] is String)
            #expect(file["parts"] as? Int == 1)
            #expect(file["seconds"] is Double)
        }
        let summary = try #require(objects.last)
        #expect(summary["type"] as? String == "summary")
        #expect(summary["uploaded"] as? Int == 30)
        #expect(summary["exitCode"] as? Int == 0)

        // The object records its source's fingerprint.
        let head = try client.headObject(bucket: bucket, key: BatchCommandTests.key(paths[0], prefix: "mp3"))
        #expect(head.metadata["source-size"] == String(FixtureFolder.shortWAV(seed: 0).bytes().count))
        #expect(head.metadata["source-sha256"]?.count == 64)

        let rerun = try CommandLineTool.run(
            ["batch", folder.path, destination, "--skip-existing", "--json"], environment: environment)
        #expect(rerun.status == 0, "\(rerun.stderr)")
        let rerunFiles = try jsonObjects(rerun).filter { $0["type"] == nil }
        #expect(rerunFiles.count == 30)
        #expect(rerunFiles.allSatisfy { $0["status"] as? String == "skipped" })

        // Same size, other samples: only the hash tells the change.
        let changed = paths[7]
        let original = FixtureFolder.shortWAV(seed: 7)
        var edited = original
        edited.frequency = 999
        #expect(edited.bytes().count == original.bytes().count)
        try folder.writeWAV(changed, edited)
        let third = try CommandLineTool.run(
            ["batch", folder.path, destination, "--skip-existing", "--json"], environment: environment)
        #expect(third.status == 0, "\(third.stderr)")
        let thirdFiles = try jsonObjects(third).filter { $0["type"] == nil }
        let uploaded = thirdFiles.filter { $0["status"] as? String == "uploaded" }
        #expect(uploaded.count == 1)
        #expect((uploaded.first?["input"] as? String)?.hasSuffix(changed) == true)
        #expect(thirdFiles.filter { $0["status"] as? String == "skipped" }.count == 29)
    }

    @Test("shards 0/3, 1/3 and 2/3 run at the same time cover every file exactly once")
    func shards() throws {
        let (client, server) = try CommandMoto.client()
        let bucket = try CommandMoto.bucket(client, "batch-shards")
        let folder = try FixtureFolder()
        let paths = try folder.writeShortWAVs(30)
        let environment = CommandLineTool.environment(for: server)
        let runs = try (0..<3).map { index in
            try CommandLineTool.Running(
                ["batch", folder.path, "s3://\(bucket)/out", "--shard", "\(index)/3", "--jobs", "1", "--json"],
                environment: environment)
        }
        var inputs: [String] = []
        for run in runs {
            let outcome = run.wait()
            #expect(outcome.status == 0, "\(outcome.stderr)")
            let files = try jsonObjects(outcome).filter { $0["type"] == nil }
            #expect(!files.isEmpty, "a shard of 30 files came out empty")
            #expect(files.allSatisfy { $0["status"] as? String == "uploaded" })
            inputs += files.compactMap { $0["input"] as? String }
        }
        #expect(inputs.count == 30)
        #expect(Set(inputs) == Set(paths.map { folder.path + "/" + $0 }))
        #expect(try client.listAllObjects(bucket: bucket).count == 30)
    }

    @Test("--dry-run prints the plan and uploads nothing")
    func dryRun() throws {
        let (client, server) = try CommandMoto.client()
        let bucket = try CommandMoto.bucket(client, "batch-dry")
        let folder = try FixtureFolder()
        let paths = try folder.writeShortWAVs(6)
        let manifest = folder.url.appendingPathComponent("manifest.jsonl").path
        let outcome = try CommandLineTool.run(
            ["batch", folder.path, "s3://\(bucket)/x", "--dry-run", "--manifest", manifest],
            environment: CommandLineTool.environment(for: server))
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stdoutLines.count == 6)
        for path in paths {
            #expect(
                outcome.stdout.contains(
                    "\(folder.path)/\(path) → s3://\(bucket)/\(BatchCommandTests.key(path, prefix: "x"))"))
        }
        #expect(try client.listAllObjects(bucket: bucket).isEmpty)
        #expect(try client.listMultipartUploads(bucket: bucket).isEmpty)
        #expect(!FileManager.default.fileExists(atPath: manifest))
    }

    @Test("a corrupt WAV among good ones: the others are uploaded, exit 1, the summary names it")
    func corruptAmongGood() throws {
        let (client, server) = try CommandMoto.client()
        let bucket = try CommandMoto.bucket(client, "batch-corrupt")
        let folder = try FixtureFolder()
        let good = try folder.writeShortWAVs(5)
        try folder.write(
            "live/broken.wav",
            Array("RIFF....WAVEfmt this is not audio at all".utf8) + [UInt8](repeating: 7, count: 3000))
        let outcome = try CommandLineTool.run(
            ["batch", folder.path, "s3://\(bucket)/out", "--json"],
            environment: CommandLineTool.environment(for: server))
        #expect(outcome.status == 1, "\(outcome.stderr)")
        #expect(
            try Set(client.listAllObjects(bucket: bucket).map(\.key))
                == Set(good.map { BatchCommandTests.key($0, prefix: "out") }))
        let summaryLines = outcome.stderr.split(separator: "\n").filter { $0.hasPrefix("failed: ") }
        #expect(summaryLines.count == 1)
        #expect(summaryLines.first?.contains("live/broken.wav") == true)
        let summary = try #require(try jsonObjects(outcome).last)
        #expect(summary["failed"] as? Int == 1)
        #expect(summary["uploaded"] as? Int == 5)
        #expect(
            (summary["failures"] as? [[String: Any]])?.first?["input"] as? String == "\(folder.path)/live/broken.wav")
        #expect(try client.listMultipartUploads(bucket: bucket).isEmpty)
    }

    @Test("SIGINT mid-batch: no multipart upload left behind, exit 130, summary printed")
    func interrupt() throws {
        let (client, server) = try CommandMoto.client()
        let bucket = try CommandMoto.bucket(client, "batch-sigint")
        let folder = try FixtureFolder()
        // 320 kbit/s for 240 s is about 9.6 MB: each upload is multipart at 5 MiB parts, and the
        // test catches one mid-upload by polling ListMultipartUploads.
        let long = try FixtureFolder.repeatedWAV(
            WAVFixture(sampleRate: 32_000, channels: 1, frequency: 300), seconds: 240)
        for index in 0..<4 { try folder.write("long \(index).wav", long) }
        let run = try CommandLineTool.Running(
            ["batch", folder.path, "s3://\(bucket)/out", "--jobs", "2", "--bitrate", "320", "--part-size", "5M"],
            environment: CommandLineTool.environment(for: server))
        let sawUpload = try run.waitForMultipartUpload(in: bucket, client: client)
        #expect(sawUpload, "no multipart upload was ever in flight; the test could not interrupt one")
        run.signal(SIGINT)
        let signalled = Timestamp()
        let outcome = run.wait()
        #expect(Timestamp().timeIntervalSince(signalled) < 10, "the batch took too long to stop after SIGINT")
        #expect(outcome.status == 130, "\(outcome.stderr)")
        #expect(outcome.stderr.contains("batch: 4 files:"))
        #expect(outcome.stderr.contains("interrupted"))
        #expect(try client.listMultipartUploads(bucket: bucket).isEmpty)
        // Nothing half-written either: whatever object exists is a complete one from a file that finished.
        #expect(try client.listAllObjects(bucket: bucket).count < 4)
    }

    @Test("to a local folder: --manifest records each file, --resume skips them, --skip-existing compares dates")
    func localManifestResume() throws {
        let folder = try FixtureFolder()
        let output = try FixtureFolder()
        let paths = try folder.writeShortWAVs(4)
        try folder.write("notes.txt", Array("not audio".utf8))
        let manifest = output.url.appendingPathComponent("run.jsonl").path
        let destination = output.url.appendingPathComponent("mp3").path
        let environment = CommandLineTool.bareEnvironment()

        let first = try CommandLineTool.run(
            ["batch", folder.path, destination, "--manifest", manifest], environment: environment)
        #expect(first.status == 0, "\(first.stderr)")
        for path in paths {
            let mp3 = destination + "/" + (path as NSString).deletingPathExtension + ".mp3"
            #expect(FileManager.default.fileExists(atPath: mp3), "\(mp3) is missing")
        }
        let lines = try String(contentsOfFile: manifest, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 4)
        #expect(lines.allSatisfy { $0.contains("\"status\":\"written\"") })

        let resumed = try CommandLineTool.run(
            ["batch", folder.path, destination, "--resume", manifest, "--manifest", manifest, "--json"],
            environment: environment)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let files = try jsonObjects(resumed).filter { $0["type"] == nil }
        #expect(files.count == 4)
        #expect(files.allSatisfy { $0["status"] as? String == "skipped" })
        #expect(try String(contentsOfFile: manifest, encoding: .utf8).split(separator: "\n").count == 4)

        let skipping = try CommandLineTool.run(
            ["batch", folder.path, destination, "--skip-existing", "--json"], environment: environment)
        #expect(try jsonObjects(skipping).filter { $0["status"] as? String == "skipped" }.count == 4)
    }

    @Test("S3 to S3: a bucket's WAVs listed and transcoded; --skip-existing then skips them")
    func s3Source() throws {
        let (client, server) = try CommandMoto.client()
        let source = try CommandMoto.bucket(client, "batch-src")
        let target = try CommandMoto.bucket(client, "batch-dst")
        let names = ["a.wav", "deep/b.WAV", "deep/er/c.wav"]
        for (index, name) in names.enumerated() {
            _ = try client.putObject(bucket: source, key: name, body: FixtureFolder.shortWAV(seed: index).bytes())
        }
        _ = try client.putObject(bucket: source, key: "notes.txt", body: Array("not audio".utf8))
        // The SRC is the bucket's root: moto's signature check wrongly rejects a percent-encoded
        // `prefix=`, which real S3 accepts.
        let environment = CommandLineTool.environment(for: server)
        let first = try CommandLineTool.run(
            ["batch", "s3://\(source)", "s3://\(target)/mp3", "--json"], environment: environment)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(
            try Set(client.listAllObjects(bucket: target).map(\.key)) == [
                "mp3/a.mp3", "mp3/deep/b.mp3", "mp3/deep/er/c.mp3",
            ])
        let inputs = try jsonObjects(first).compactMap { $0["input"] as? String }
        #expect(Set(inputs) == Set(names.map { "s3://\(source)/\($0)" }))
        let rerun = try CommandLineTool.run(
            ["batch", "s3://\(source)", "s3://\(target)/mp3", "--json", "--skip-existing"],
            environment: environment)
        #expect(rerun.status == 0, "\(rerun.stderr)")
        #expect(try jsonObjects(rerun).filter { $0["status"] as? String == "skipped" }.count == 3)
    }

    @Test("--fail-fast: no new file starts after the first failure")
    func failFast() throws {
        let folder = try FixtureFolder()
        let output = try FixtureFolder()
        try folder.write("0 broken.wav", Array(repeating: 1, count: 5000))
        try folder.writeShortWAVs(3)
        let environment = CommandLineTool.bareEnvironment()
        let outcome = try CommandLineTool.run(
            ["batch", folder.path, output.path, "--jobs", "1", "--fail-fast", "--json"],
            environment: environment)
        #expect(outcome.status == 1)
        let summary = try #require(try jsonObjects(outcome).last)
        #expect(summary["failed"] as? Int == 1)
        #expect(summary["notStarted"] as? Int == 3)
        #expect(outcome.stderr.contains("3 not started"))
    }

    @Test("bad arguments exit 64 with one line")
    func usage() throws {
        let folder = try FixtureFolder()
        try folder.writeShortWAVs(1)
        let environment = CommandLineTool.bareEnvironment()
        for arguments in [
            ["--shard", "3/3"], ["--key-template", "{nope}"], ["--max-memory", "12M", "--jobs", "2"],
            ["--shard", "auto"],
        ] {
            let outcome = try CommandLineTool.run(
                ["batch", folder.path, folder.path + "/out"] + arguments, environment: environment)
            #expect(outcome.status == 64, "\(arguments): \(outcome.stderr)")
            #expect(outcome.stderr.split(separator: "\n").count == 1, "\(arguments): \(outcome.stderr)")
        }
        let missing = try CommandLineTool.run(
            ["batch", folder.path + "/nowhere", folder.path + "/out"], environment: environment)
        #expect(missing.status == 66)
    }
}
