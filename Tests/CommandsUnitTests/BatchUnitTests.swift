import Foundation
import Testing

@testable import S3TranscodeCommands

@Suite("batch: templates, shards, globs, budgets (no server)")
struct BatchUnitTests {
    @Test(
        "each placeholder, as --help defines it",
        arguments: [
            ("{relpath}", "live/2024/Take 5.WAV", "live/2024/Take 5.WAV"),
            ("{dir}", "live/2024/Take 5.WAV", "live/2024"),
            ("{name}", "live/2024/Take 5.WAV", "Take 5.WAV"),
            ("{stem}", "live/2024/Take 5.WAV", "Take 5"),
            ("{ext}", "live/2024/Take 5.WAV", "WAV"),
            ("{dir}/{stem}.mp3", "live/2024/Take 5.WAV", "live/2024/Take 5.mp3"),
            ("{dir}/{stem}.mp3", "top.wav", "top.mp3"),
            ("/{dir}//{stem}.{ext}.mp3", "a/b.c.wav", "a/b.c.wav.mp3"),
            ("{stem}-{ext}", "noext", "noext-"),
            ("{stem}", ".hidden", ".hidden"),
        ])
    func template(_ template: String, _ path: String, _ expected: String) throws {
        #expect(try KeyTemplate(template).render(path) == expected)
    }

    @Test("templates that cannot work are refused", arguments: ["{bogus}.mp3", "{dir", "fixed.mp3"])
    func badTemplate(_ template: String) {
        #expect(throws: CommandFailure.self) { try KeyTemplate(template) }
    }

    @Test("S3 destination joins prefix and name with one slash")
    func destination() throws {
        #expect(
            try BatchLocation(parsing: "s3://b/out/", as: .destination).location(for: "a/x.mp3")
                == .s3(bucket: "b", key: "out/a/x.mp3"))
        #expect(
            try BatchLocation(parsing: "s3://b/out", as: .destination).location(for: "x.mp3")
                == .s3(bucket: "b", key: "out/x.mp3"))
        #expect(
            try BatchLocation(parsing: "s3://b", as: .destination).location(for: "x.mp3")
                == .s3(bucket: "b", key: "x.mp3"))
        #expect(throws: CommandFailure.self) { try BatchLocation(parsing: "-", as: .destination) }
    }

    @Test("FNV-1a 64 matches the published vectors")
    func fnv() {
        #expect(Shard.fnv1a64("") == 0xcbf2_9ce4_8422_2325)
        #expect(Shard.fnv1a64("a") == 0xaf63_dc4c_8601_ec8c)
        #expect(Shard.fnv1a64("foobar") == 0x8594_4171_f739_67e8)
    }

    @Test("N shards partition the paths: each path in exactly one, none empty for many paths")
    func partition() throws {
        let paths = (0..<600).map { "folder \($0 % 7)/take \($0).wav" }
        let shards = try (0..<4).map { try Shard(index: $0, count: 4) }
        for path in paths {
            #expect(shards.filter { $0.contains(path) }.count == 1)
        }
        for shard in shards { #expect(paths.filter(shard.contains).count > 100) }
    }

    @Test("--shard parsing", arguments: ["1/0", "3/3", "-1/2", "a/b", "1", "1/2/3"])
    func badShard(_ text: String) {
        #expect(throws: CommandFailure.self) { try Shard(parsing: text) }
    }

    @Test("--shard auto reads Slurm, AWS Batch and Kubernetes variables")
    func autoShard() throws {
        #expect(
            try Shard.auto(
                environment: [
                    "SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_MIN": "0",
                    "SLURM_ARRAY_TASK_MAX": "7", "SLURM_ARRAY_TASK_COUNT": "8",
                ], count: nil)
                == Shard(index: 3, count: 8))
        // --array=1-7:2 is 1, 3, 5, 7: task 5 is index 2 of 4.
        #expect(
            try Shard.auto(
                environment: [
                    "SLURM_ARRAY_TASK_ID": "5", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_MAX": "7",
                    "SLURM_ARRAY_TASK_STEP": "2", "SLURM_ARRAY_TASK_COUNT": "4",
                ], count: nil)
                == Shard(index: 2, count: 4))
        // --array=1,4,9 has gaps.
        #expect(throws: CommandFailure.self) {
            try Shard.auto(
                environment: [
                    "SLURM_ARRAY_TASK_ID": "4", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_MAX": "9",
                    "SLURM_ARRAY_TASK_COUNT": "3",
                ], count: nil)
        }
        #expect(
            try Shard.auto(
                environment: ["AWS_BATCH_JOB_ARRAY_INDEX": "9", "AWS_BATCH_JOB_ARRAY_SIZE": "10"], count: nil)
                == Shard(index: 9, count: 10))
        #expect(try Shard.auto(environment: ["AWS_BATCH_JOB_ARRAY_INDEX": "1"], count: 2) == Shard(index: 1, count: 2))
        #expect(
            try Shard.auto(environment: ["JOB_COMPLETION_INDEX": "2", "S3TRANSCODE_SHARD_COUNT": "5"], count: nil)
                == Shard(index: 2, count: 5))
        #expect(try Shard.auto(environment: ["JOB_COMPLETION_INDEX": "2"], count: 3) == Shard(index: 2, count: 3))
        #expect(throws: CommandFailure.self) { try Shard.auto(environment: ["JOB_COMPLETION_INDEX": "2"], count: nil) }
        #expect(throws: CommandFailure.self) { try Shard.auto(environment: ["JOB_COMPLETION_INDEX": "5"], count: 5) }
        #expect(throws: CommandFailure.self) { try Shard.auto(environment: [:], count: 4) }
    }

    @Test("globs: case-insensitive; with / on the path, without on the name")
    func globs() {
        let filter = GlobFilter(include: ["*.wav", "keep/*.flac"], exclude: ["*draft*"])
        #expect(filter.accepts("a/b/Take.WAV"))
        #expect(filter.accepts("keep/x.FLAC"))
        #expect(!filter.accepts("keep/deeper/x.flac"))
        #expect(!filter.accepts("a/take draft.wav"))
        #expect(!filter.accepts("a/notes.txt"))
    }

    @Test("--max-memory is split over the jobs, and refused when a job cannot get two parts")
    func memoryShare() throws {
        let upload = try UploadOptionGroup.parse(["--max-memory", "40M"])
        #expect(try BatchCommand.share(upload, jobs: 4).maxMemory == String(10 << 20))
        let error = #expect(throws: CommandFailure.self) { try BatchCommand.share(upload, jobs: 5) }
        #expect(error?.status == .usage)
        #expect(error?.message.contains("--jobs 4") == true)
        // Unset, each job's budget is three parts of its planned size (15M at the default 5M, 24M at 8M).
        let unset = try BatchCommand.share(UploadOptionGroup.parse([]), jobs: 8)
        #expect(unset.maxMemory == nil)
        #expect(try unset.options(expectedSize: nil).plan().bufferCount * (5 << 20) == 15 << 20)
        let eight = try BatchCommand.share(UploadOptionGroup.parse(["--part-size", "8M"]), jobs: 2)
        #expect(try eight.options(expectedSize: nil).plan().bufferCount * (8 << 20) == 24 << 20)
    }

    @Test("an input of 100 GiB with no --max-memory grows its parts and its budget with them")
    func longInputWithoutABudget() throws {
        // 100 GiB (+10 % headroom) in 10,000 parts needs 12 MiB parts: three of them, not a refusal.
        let plan = try UploadOptionGroup.parse([]).options(expectedSize: 100 << 30).plan()
        #expect(plan.partSize == 12 << 20)
        #expect(plan.bufferCount == 3)
        // A budget that was given is still a bound.
        #expect(throws: (any Error).self) {
            try UploadOptionGroup.parse(["--max-memory", "15M"]).options(expectedSize: 100 << 30).plan()
        }
    }

    @Test("two inputs landing on one key stop the batch before it starts")
    func collisions() throws {
        let files = [
            FoundFile(relativePath: "a/x.wav", path: "/s/a/x.wav", size: 1, modified: nil),
            FoundFile(relativePath: "b/x.wav", path: "/s/b/x.wav", size: 1, modified: nil),
        ]
        let error = #expect(throws: CommandFailure.self) {
            try BatchCommand.items(
                files, source: .folder("/s"), destination: .s3(bucket: "b", prefix: ""),
                template: KeyTemplate("{stem}.mp3"))
        }
        #expect(error?.message.contains("a/x.wav and b/x.wav") == true)
    }

    @Test("the summary counts every status and exits 1 on a failure, 130 after SIGINT")
    func summary() {
        let items = (0..<4).map {
            BatchItem(relativePath: "\($0).wav", input: .file("\($0).wav"), destination: .file("\($0).mp3"))
        }
        let reports: [JobReport?] = [
            JobReport(input: "0.wav", destination: "0.mp3", status: "written", bytes: 10, audioSeconds: 2, seconds: 1),
            JobReport(input: "1.wav", destination: "1.mp3", status: "skipped", seconds: 0),
            JobReport(input: "2.wav", destination: "2.mp3", status: "failed", seconds: 0, error: "2.wav: not audio"),
            nil,
        ]
        let summary = BatchSummary(items: items, reports: reports, seconds: 1, signal: nil, dryRun: false)
        #expect((summary.written, summary.skipped, summary.failed, summary.notStarted) == (1, 1, 1, 1))
        #expect(summary.exitCode == 1)
        #expect(summary.lines().contains("failed: 2.wav: not audio"))
        #expect(BatchSummary(items: items, reports: reports, seconds: 1, signal: 130, dryRun: false).exitCode == 130)
    }
}
