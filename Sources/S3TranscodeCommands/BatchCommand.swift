import ArgumentParser
import AudioTranscode
import Basics
import Threads

/// `s3transcode batch SRC DEST`: every matching file under a folder (or an S3 prefix), in parallel.
struct BatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "batch",
        abstract: "Transcode every audio file under a folder to MP3, in parallel, into S3 or a local folder.",
        discussion: """
            SRC is a local folder, walked recursively (hidden files and folders are left out), or s3://BUCKET/PREFIX/. DEST is s3://BUCKET/PREFIX or a local folder. Each file goes through the same steps as `s3transcode transcode`, so every encoding, tag, S3, upload and object option applies to each file (a tag option sets the same tag on every file).

            Key template: each file's name under DEST. For live/2024/Take 5.WAV under SRC:
              {relpath}  the path under SRC          live/2024/Take 5.WAV
              {dir}      its folder (empty at top)   live/2024
              {name}     the file name               Take 5.WAV
              {stem}     the name without extension  Take 5
              {ext}      the extension, no dot       WAV

            Runs of / become one and a leading / is dropped: the default {dir}/{stem}.mp3 gives live/2024/Take 5.mp3. Two inputs that would get the same name stop the batch before it starts.

            Jobs and memory: --jobs files at once, each on its own thread, all sharing one S3 connection pool. --max-memory is the budget of ALL jobs together, split evenly; each file needs at least two part buffers (2 x --part-size), and a budget too small for --jobs is refused, naming the largest --jobs it allows. Unset, each job gets three parts (15 MiB at 5M).

            --skip-existing: to S3, HEAD each target and skip it when its x-amz-meta-source-size and x-amz-meta-source-sha256 (recorded on every object s3transcode uploads) match the source; a changed source is transcoded again. To a local folder, skip when the output exists, is not empty and is at least as new as the source.

            --shard K/N takes a stable share of the files by a hash of each path under SRC: N runs with K = 0..N-1 take disjoint shares that cover every file, with no coordinator. --shard auto reads K and N from a Slurm, AWS Batch or Kubernetes (Indexed Job) array; Kubernetes sets no count, so give --shard-count or S3TRANSCODE_SHARD_COUNT, which also override the engine's count. The README's "Sharding" section names the hash and the variables read.

            --dry-run prints the plan (INPUT → DEST lines, or JSON with --json) on stdout and writes nothing: no upload, no file, no manifest. It reads S3 only to list an S3 SRC and, with --skip-existing, to HEAD targets (hashing local sources to compare them).

            --manifest FILE appends one JSON line per finished file (the --json object) as each file finishes. --resume FILE skips every input that FILE records as uploaded, written or skipped to the same destination; give the same FILE to both to carry a run on.

            Failures: a failing file does not stop the others; the summary names every failure and the exit code is 1. --fail-fast starts no new file after the first failure (files already running finish). SIGINT/SIGTERM: no new file starts, the uploads in flight are aborted, the summary is printed, exit 130/143.

            Examples:
              s3transcode batch ~/recordings s3://bucket/mp3/ --vbr 2
              s3transcode batch in/ s3://bucket/out --include '*.flac' --jobs 4
              s3transcode batch in/ s3://bucket/out --skip-existing \\
                  --manifest run.jsonl --resume run.jsonl
              s3transcode batch in/ s3://bucket/out --shard auto --shard-count 8
              s3transcode batch in/ out/ --key-template '{dir}/{stem}-128k.mp3' \\
                  --bitrate 128 --dry-run
            """)

    @Argument(help: "The input folder, or s3://BUCKET/PREFIX/.")
    var source: String

    @Argument(help: "The destination: s3://BUCKET/PREFIX or a local folder.")
    var destination: String

    @Option(
        help: ArgumentHelp(
            "Take files matching this glob, compared without regard to case; a glob with / matches the path under SRC, one without the file name (repeatable; default *.wav).",
            valueName: "glob"))
    var include: [String] = []

    @Option(help: ArgumentHelp("Leave out files matching this glob (repeatable).", valueName: "glob"))
    var exclude: [String] = []

    @Option(
        help: ArgumentHelp(
            "Each file's name under DEST from {relpath} {dir} {stem} {name} {ext} (see below).", valueName: "template"))
    var keyTemplate = "{dir}/{stem}.mp3"

    @Option(help: ArgumentHelp("Files transcoded at once (default: the number of cores).", valueName: "n"))
    var jobs: Int?

    @Flag(help: "Skip files whose target exists and was made from the same source (see below).")
    var skipExisting = false

    @Option(
        help: ArgumentHelp(
            "Take only shard K of N (0-based), or auto from the job-array engine's variables.", valueName: "K/N|auto"))
    var shard: String?

    @Option(help: ArgumentHelp("N for --shard auto (Kubernetes sets none).", valueName: "n"))
    var shardCount: Int?

    @Flag(help: "Print the plan and write nothing.")
    var dryRun = false

    @Option(help: ArgumentHelp("Append one JSON line per finished file to FILE.", valueName: "file"))
    var manifest: String?

    @Option(help: ArgumentHelp("Skip what FILE (an earlier --manifest) records as done.", valueName: "file"))
    var resume: String?

    @Flag(help: "Start no new file after the first failure.")
    var failFast = false

    @OptionGroup(title: "Encoding") var encoding: EncodingOptionGroup
    @OptionGroup(title: "Tags") var tags: TagOptionGroup
    @OptionGroup(title: "S3") var s3: S3OptionGroup
    @OptionGroup(title: "Upload") var upload: UploadOptionGroup
    @OptionGroup(title: "Object") var object: ObjectOptionGroup
    @OptionGroup(title: "Output") var output: OutputOptionGroup

    func validate() throws {
        if let jobs, jobs < 1 { throw ValidationError("--jobs must be at least 1") }
        if shardCount != nil, shard != "auto" { throw ValidationError("--shard-count goes with --shard auto") }
        if let shardCount, shardCount < 1 { throw ValidationError("--shard-count must be at least 1") }
    }

    func run() throws {
        FFmpegLog.setLevel(output.verbose >= 2 ? .warning : .quiet)
        let trap = SignalTrap()
        let console = Console.shared
        do {
            let status = try runBatch(trap: trap, console: console)
            if status != .success { throw ExitCode(status.rawValue) }
        } catch let exit as ExitCode {
            throw exit
        } catch {
            console.clearStatus()
            var failure = CommandFailure(error)
            if let code = trap.exitCode {
                failure = CommandFailure(.signalled(code), "batch interrupted before any file started")
            }
            console.error(failure.message)
            throw ExitCode(failure.status.rawValue)
        }
    }

    private func runBatch(trap: SignalTrap, console: Console) throws -> ExitStatus {
        let environment = ProcessEnvironment.current
        let source = try BatchLocation(parsing: self.source, as: .source)
        let destination = try BatchLocation(parsing: self.destination, as: .destination)
        let template = try KeyTemplate(keyTemplate)
        let filter = GlobFilter(include: include.isEmpty ? ["*.wav"] : include, exclude: exclude)
        let shard: Shard? = try self.shard.map {
            $0 == "auto" ? try Shard.auto(environment: environment, count: shardCount) : try Shard(parsing: $0)
        }
        let jobs = self.jobs ?? availableProcessorCount()
        let perJobUpload = try BatchCommand.share(upload, jobs: jobs)
        let encodingOptions = try encoding.encodingOptions(tags: tags.tags, writesTags: !tags.noTags)

        // One S3 session for the whole run, made up front when S3 is needed so that missing
        // credentials stop the batch before any work (a dry run needs S3 only to list or HEAD).
        let needsS3 = { () -> Bool in
            if case .s3 = source { return true }
            return destination.isS3 && (!dryRun || skipExisting)
        }()
        let verbosity = output.verbose
        let s3Options = s3
        // The trap's flag: a signal ends the transfers in flight at once; AbortMultipartUpload
        // still goes out (S3Client sends it ignoring cancellation).
        let session = SharedSession {
            try S3Session(options: s3Options, verbosity: verbosity, cancellation: trap.cancellation)
        }
        if needsS3 { _ = try session.get() }

        // The files: listed, filtered, sharded, named.
        let found: [FoundFile]
        switch source {
        case .folder(let path): found = try BatchListing.localFiles(under: path)
        case .s3(let bucket, let prefix):
            found = try BatchListing.s3Objects(client: session.get().client, bucket: bucket, prefix: prefix)
        }
        let matching = found.filter { filter.accepts($0.relativePath) }
        guard !matching.isEmpty else {
            throw CommandFailure(
                .noInput,
                "\(source): no file matches " + filter.include.map { "--include '\($0)'" }.joined(separator: " ")
                    + (filter.exclude.isEmpty
                        ? "" : " without " + filter.exclude.map { "--exclude '\($0)'" }.joined(separator: " "))
                    + " (\(found.count) files found); check SRC and the globs")
        }
        let mine = shard.map { shard in matching.filter { shard.contains($0.relativePath) } } ?? matching
        let items = try BatchCommand.items(mine, source: source, destination: destination, template: template)

        var settings = BatchSettings(
            jobs: jobs, encoding: encodingOptions, upload: perJobUpload, object: object,
            skipExisting: skipExisting, dryRun: dryRun, failFast: failFast)
        if let resume {
            settings.resumeDone = try ManifestReader.done(path: resume)
            settings.resumePath = resume
        }
        let writer = try (dryRun ? nil : manifest).map { try ManifestWriter(path: $0) }

        if !output.quiet {
            var line = "batch: \(items.count) of \(matching.count) files"
            if let shard { line += " (shard \(shard))" }
            line += " from \(source) to \(destination), \(min(jobs, max(items.count, 1))) at a time"
            if dryRun { line += "; dry run, nothing is written" }
            console.info(line)
        }

        let monitor = BatchMonitor(console: console, items: items, output: output, dryRun: dryRun)
        let runner = BatchRunner(
            items: items, settings: settings, trap: trap, session: session, monitor: monitor,
            manifest: writer)
        let started = Timestamp()
        monitor.start()
        let reports = runner.run()
        monitor.stop()
        if dryRun { monitor.printPlan() }

        let summary = BatchSummary(
            items: items, reports: reports, seconds: Timestamp().timeIntervalSince(started),
            signal: trap.exitCode, dryRun: dryRun)
        if output.json { console.output(try JSONLine.encode(summary)) }
        if !output.quiet || summary.failed > 0 || summary.interrupted {
            for line in summary.lines() { console.info(line) }
        }
        return summary.status
    }

    /// Splits the memory budget between the jobs: `--max-memory` is the total of all of them.
    static func share(_ upload: UploadOptionGroup, jobs: Int) throws(CommandFailure) -> UploadOptionGroup {
        let partSize = Units.bytes(upload.partSize) ?? 5 << 20
        var perJob = upload
        // Unset: each job gets three parts of its planned part size (see `UploadOptionGroup.options`).
        guard let maxMemory = upload.maxMemory, let total = Units.bytes(maxMemory) else { return perJob }
        let share = total / jobs
        guard share >= 2 * partSize else {
            let fits = total / (2 * partSize)
            throw CommandFailure(
                .usage,
                "--max-memory \(maxMemory) split over --jobs \(jobs) gives each file "
                    + "\(Units.describe(bytes: Int64(share))), less than the two \(upload.partSize) part buffers one upload needs; "
                    + (fits >= 1 ? "use --jobs \(fits) or " : "")
                    + "raise --max-memory to at least \(Units.describe(bytes: Int64(2 * partSize * jobs)))")
        }
        perJob.maxMemory = String(share)
        return perJob
    }

    /// Each file's input and destination; refuses two inputs that would land on the same name.
    static func items(
        _ files: [FoundFile], source: BatchLocation, destination: BatchLocation,
        template: KeyTemplate
    ) throws(CommandFailure) -> [BatchItem] {
        var owners: [String: String] = [:]
        var items: [BatchItem] = []
        for file in files {
            let name = template.render(file.relativePath)
            guard !name.isEmpty else {
                throw CommandFailure(
                    .usage, "--key-template \(template.template) gives \(file.relativePath) an empty name")
            }
            let target = destination.location(for: name)
            if let other = owners[target.description] {
                throw CommandFailure(
                    .usage,
                    "\(other) and \(file.relativePath) would both go to \(target); "
                        + "change --key-template (e.g. {relpath}.mp3) or narrow --include")
            }
            owners[target.description] = file.relativePath
            let input: Location
            switch source {
            case .folder: input = .file(file.path)
            case .s3(let bucket, _): input = .s3(bucket: bucket, key: file.path)
            }
            items.append(
                BatchItem(
                    relativePath: file.relativePath, input: input, destination: target,
                    size: file.size, modified: file.modified))
        }
        return items
    }
}

/// The end of a batch: counts, audio, failures, and the exit status.
struct BatchSummary: Encodable {
    var type = "summary"
    var files: Int
    var uploaded = 0
    var written = 0
    var skipped = 0
    var planned = 0
    var failed = 0
    var notStarted = 0
    var audioSeconds = 0.0
    var bytes: Int64 = 0
    var seconds: Double
    var dryRun: Bool
    var interrupted: Bool
    var failures: [Failure] = []
    var exitCode: Int32 = 0

    struct Failure: Encodable {
        var input: String
        var error: String
    }

    init(items: [BatchItem], reports: [JobReport?], seconds: Double, signal: Int32?, dryRun: Bool) {
        files = items.count
        self.seconds = seconds
        self.dryRun = dryRun
        interrupted = signal != nil
        for report in reports {
            guard let report else {
                notStarted += 1
                continue
            }
            switch report.status {
            case "uploaded": uploaded += 1
            case "written": written += 1
            case "skipped": skipped += 1
            case "planned": planned += 1
            default:
                failed += 1
                failures.append(Failure(input: report.input, error: report.error ?? "failed"))
            }
            if report.status == "uploaded" || report.status == "written" {
                audioSeconds += report.audioSeconds ?? 0
                bytes += report.bytes ?? 0
            }
        }
        exitCode = signal ?? (failed > 0 ? ExitStatus.someFailed.rawValue : 0)
    }

    var status: ExitStatus { ExitStatus(rawValue: exitCode) ?? .someFailed }

    /// `batch: 30 files: 28 uploaded, 1 skipped, 1 failed; 1:30:00 of audio, 82 MiB in 41.0 s (131× realtime)`,
    /// then one line per failure.
    func lines() -> [String] {
        var counts: [String] = []
        for (count, label) in [
            (uploaded, "uploaded"), (written, "written"), (planned, "to transcode"), (skipped, "skipped"),
            (failed, "failed"), (notStarted, "not started"),
        ] where count > 0 {
            counts.append("\(count) \(label)")
        }
        var line = "batch: \(files) files: " + (counts.isEmpty ? "nothing to do" : counts.joined(separator: ", "))
        if uploaded + written > 0 {
            line +=
                "; \(Summary.clock(audioSeconds)) of audio, \(Units.describe(bytes: bytes)) in \(String(format1: seconds)) s"
            if seconds > 0 { line += " (\(Int(audioSeconds / seconds))× realtime)" }
        }
        var lines = [line]
        if interrupted {
            lines.append("batch: interrupted; no new file started and the uploads in flight were aborted")
        }
        for failure in failures { lines.append("failed: \(failure.error)") }
        return lines
    }
}
