import ArgumentParser
import Basics
import HTTPClient
import S3
import SigV4

#if canImport(Glibc)
    import Glibc
#endif

/// `s3transcode cleanup s3://BUCKET[/PREFIX] --older-than DURATION [--yes]`: finds incomplete
/// multipart uploads (billed until aborted) and aborts them when told to.
///
/// Without `--yes` nothing is changed: each upload that would be aborted is printed, and the
/// summary says to add `--yes`.
struct CleanupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cleanup",
        abstract: "Abort stale incomplete multipart uploads (S3 bills their parts until they are aborted).",
        discussion: """
            Lists the incomplete multipart uploads in BUCKET whose key starts with PREFIX and that were started longer than --older-than ago. Without --yes it only prints them; with --yes it aborts each (AbortMultipartUpload) and their parts are deleted.

            stdout gets one line per upload (with --json one object per upload, then a summary object); stderr gets the summary. An upload still being written by a running s3transcode is aborted too if it is old enough: give a duration longer than any run.

            Examples:
              s3transcode cleanup s3://bucket --older-than 7d
              s3transcode cleanup s3://bucket/music/ --older-than 2h --yes
            """)

    @Argument(
        help: ArgumentHelp(
            "The bucket, and optionally a key prefix: s3://BUCKET[/PREFIX].", valueName: "s3://bucket[/prefix]"))
    var target: String

    @Option(
        help: ArgumentHelp(
            "Only uploads started longer ago than this: 90s, 15m, 2h, 7d (0s: all).", valueName: "duration"))
    var olderThan: String

    @Flag(help: "Abort them. Without it, only print what would be aborted.")
    var yes = false

    @OptionGroup(title: "S3") var s3: S3OptionGroup
    @OptionGroup(title: "Output") var output: OutputOptionGroup

    func validate() throws {
        _ = try CleanupCommand.seconds(olderThan)
        do {
            _ = try CleanupTarget(parsing: target)
        } catch {
            throw ValidationError(error.message)
        }
    }

    static func seconds(_ text: String) throws -> Int {
        guard let seconds = Units.seconds(text) else {
            throw ValidationError("--older-than \(text): give a duration such as 90s, 15m, 2h or 7d")
        }
        return seconds
    }

    func run() throws {
        let trap = SignalTrap()
        let console = Console.shared
        do {
            let target = try CleanupTarget(parsing: self.target)
            let olderThan = try CleanupCommand.seconds(olderThan)
            let session = try S3Session(options: s3, verbosity: output.verbose, cancellation: trap.cancellation)
            let uploads = try session.client.listMultipartUploads(bucket: target.bucket, prefix: target.prefix)
            let plan = CleanupPlan(uploads: uploads, now: Timestamp(), olderThan: olderThan)
            var outcomes: [CleanupOutcome] = []
            for stale in plan.stale {
                var outcome = CleanupOutcome(bucket: target.bucket, upload: stale, action: yes ? .aborted : .wouldAbort)
                if yes {
                    if trap.cancellation.isCancelled {
                        throw CommandFailure(
                            .interrupted, "\(target): interrupted after \(outcomes.count) of \(plan.stale.count) aborts"
                        )
                    }
                    do {
                        try session.client.abortMultipartUpload(
                            bucket: target.bucket, key: stale.upload.key, uploadId: stale.upload.uploadId)
                    } catch let error as S3Error where error.kind == .noSuchUpload {
                        outcome.action = .gone
                    } catch {
                        outcome.action = .failed
                        outcome.failure = CommandFailure(error)
                    }
                }
                outcomes.append(outcome)
                console.output(output.json ? try JSONLine.encode(outcome.report) : outcome.line)
            }
            let summary = CleanupSummary(
                target: target.description, olderThanSeconds: olderThan, dryRun: !yes,
                plan: plan, outcomes: outcomes)
            if output.json { console.output(try JSONLine.encode(summary)) }
            if !output.quiet { console.info(summary.line) }
            if let failed = outcomes.first(where: { $0.failure != nil }), let failure = failed.failure {
                throw CommandFailure(
                    failure.status,
                    "\(summary.failed) of \(plan.stale.count) aborts failed under \(target); "
                        + "the first: \(failure.message)")
            }
        } catch {
            var failure = CommandFailure(error)
            if let code = trap.exitCode {
                failure = CommandFailure(.signalled(code), "\(target): interrupted")
            }
            console.error(failure.message)
            throw ExitCode(failure.status.rawValue)
        }
    }
}

/// `s3://BUCKET`, `s3://BUCKET/` or `s3://BUCKET/PREFIX`.
struct CleanupTarget: CustomStringConvertible, Equatable {
    var bucket: String
    /// `nil`: the whole bucket.
    var prefix: String?

    init(parsing argument: String) throws(CommandFailure) {
        guard argument.hasPrefix("s3://") else {
            throw CommandFailure(.usage, "\(argument): cleanup takes a bucket, s3://BUCKET[/PREFIX]")
        }
        let rest = argument.dropFirst(5)
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        guard slash != rest.startIndex else {
            throw CommandFailure(.usage, "\(argument): no bucket name; write s3://BUCKET[/PREFIX]")
        }
        bucket = String(rest[..<slash])
        let prefix = slash == rest.endIndex ? "" : String(rest[rest.index(after: slash)...])
        self.prefix = prefix.isEmpty ? nil : prefix
    }

    var description: String { "s3://\(bucket)/\(prefix ?? "")" }
}

/// Which of a bucket's incomplete uploads are stale: started at least `olderThan` seconds before
/// `now`. An upload whose start time is missing or unreadable is never aborted (its age is unknown).
struct CleanupPlan {
    struct Stale {
        var upload: MultipartUploadSummary
        var ageSeconds: Int
    }

    var stale: [Stale] = []
    /// Younger than the limit: kept.
    var younger = 0
    /// Without a readable `Initiated`: kept.
    var undated = 0

    init(uploads: [MultipartUploadSummary], now: Timestamp, olderThan: Int) {
        for upload in uploads {
            guard let initiated = upload.initiatedDate else {
                undated += 1
                continue
            }
            let age = now.timeIntervalSince(initiated)
            if age >= Double(olderThan) {
                stale.append(Stale(upload: upload, ageSeconds: max(0, Int(age.rounded(.down)))))
            } else {
                younger += 1
            }
        }
    }
}

struct CleanupOutcome {
    enum Action: String, Codable {
        case wouldAbort = "would-abort"
        case aborted
        /// NoSuchUpload: completed or aborted by someone else meanwhile.
        case gone
        case failed
    }

    var bucket: String
    var upload: CleanupPlan.Stale
    var action: Action
    var failure: CommandFailure?

    init(bucket: String, upload: CleanupPlan.Stale, action: Action) {
        self.bucket = bucket
        self.upload = upload
        self.action = action
    }

    /// `would abort s3://b/k (upload 2~abc, started 2026-11-29T01:02:03Z, 3h 4m ago)`.
    var line: String {
        let verb =
            switch action {
            case .wouldAbort: "would abort"
            case .aborted: "aborted"
            case .gone: "already gone"
            case .failed: "FAILED to abort"
            }
        var line =
            "\(verb) s3://\(bucket)/\(upload.upload.key) (upload \(upload.upload.uploadId), started "
            + "\(upload.upload.initiated ?? "?"), \(CleanupOutcome.age(upload.ageSeconds)) ago)"
        if let failure { line += ": \(failure.message)" }
        return line
    }

    var report: Report {
        Report(
            bucket: bucket, key: upload.upload.key, uploadId: upload.upload.uploadId,
            initiated: upload.upload.initiated,
            ageSeconds: upload.ageSeconds, action: action, error: failure?.message)
    }

    struct Report: Codable {
        var bucket: String
        var key: String
        var uploadId: String
        var initiated: String?
        var ageSeconds: Int
        var action: Action
        var error: String?
    }

    /// `45s`, `12m`, `3h 4m`, `9d 2h`.
    static func age(_ seconds: Int) -> String {
        let (d, h, m) = (seconds / 86400, seconds / 3600 % 24, seconds / 60 % 60)
        if d > 0 { return h > 0 ? "\(d)d \(h)h" : "\(d)d" }
        if h > 0 { return m > 0 ? "\(h)h \(m)m" : "\(h)h" }
        if m > 0 { return "\(m)m" }
        return "\(seconds)s"
    }
}

/// The last `--json` line, and the stderr summary.
struct CleanupSummary: Codable {
    var summary = true
    var target: String
    var olderThanSeconds: Int
    var dryRun: Bool
    /// Uploads old enough to abort.
    var stale: Int
    var aborted: Int
    var gone: Int
    var failed: Int
    /// Kept: younger than the limit, or of unknown age.
    var younger: Int
    var undated: Int

    init(target: String, olderThanSeconds: Int, dryRun: Bool, plan: CleanupPlan, outcomes: [CleanupOutcome]) {
        self.target = target
        self.olderThanSeconds = olderThanSeconds
        self.dryRun = dryRun
        stale = plan.stale.count
        aborted = outcomes.filter { $0.action == .aborted }.count
        gone = outcomes.filter { $0.action == .gone }.count
        failed = outcomes.filter { $0.action == .failed }.count
        younger = plan.younger
        undated = plan.undated
    }

    var line: String {
        let limit = CleanupOutcome.age(olderThanSeconds)
        var line: String
        if stale == 0 {
            line = "\(target): no incomplete multipart upload older than \(limit)"
        } else if dryRun {
            line =
                "\(target): \(stale) incomplete multipart upload\(stale == 1 ? "" : "s") older than \(limit) "
                + "would be aborted; nothing was changed: add --yes to abort \(stale == 1 ? "it" : "them")"
        } else {
            line =
                "\(target): aborted \(aborted) of \(stale) incomplete multipart upload\(stale == 1 ? "" : "s") older than \(limit)"
            if gone > 0 { line += ", \(gone) already gone" }
            if failed > 0 { line += ", \(failed) failed" }
        }
        if younger > 0 { line += "; kept \(younger) younger" }
        if undated > 0 { line += "; kept \(undated) without a start time" }
        return line
    }
}
