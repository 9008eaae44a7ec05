import AudioTranscode
import Basics
import Dispatch
import S3
import Synchronization
import Threads

/// How every file of a batch is handled.
struct BatchSettings {
    var jobs: Int
    var encoding: EncodingOptions
    /// The upload options of ONE file: its share of the batch's memory budget already set.
    var upload: UploadOptionGroup
    var object: ObjectOptionGroup
    var skipExisting: Bool
    var dryRun: Bool
    var failFast: Bool
    /// Pairs an earlier run's manifest records as done (`--resume`), and that manifest's path.
    var resumeDone: Set<ManifestReader.Pair> = []
    var resumePath: String?
}

/// The one S3 session of a batch, made on first use and shared by every thread (one connection pool,
/// one credentials cache). A failure to make it is remembered, not retried per file.
final class SharedSession: Sendable {
    private let make: @Sendable () throws -> S3Session
    private let made = Mutex<Result<S3Session, CommandFailure>?>(nil)

    init(_ make: @escaping @Sendable () throws -> S3Session) { self.make = make }

    func get() throws -> S3Session {
        try made.withLock { made in
            if made == nil { made = Result { try make() }.mapError { CommandFailure($0) } }
            return try made!.get()
        }
    }
}

/// Runs a batch: `settings.jobs` dedicated threads (blocking FFmpeg and curl calls never run on
/// Swift's cooperative pool) take files in order from a shared counter, each through the same
/// `TranscodeJob` that `transcode` runs, sharing one `S3Session`.
///
/// Stopping: after SIGINT/SIGTERM (the trap's flag) no new file starts and the files in flight stop
/// between packets, their uploads aborted by `TranscodeJob`'s sink. With `--fail-fast`, the first
/// failure stops new files from starting; the files in flight finish (they are complete objects,
/// not debris, and aborting them would only waste the work done).
final class BatchRunner: @unchecked Sendable {  // immutable after init; mutable state is in `state`
    let items: [BatchItem]
    let settings: BatchSettings
    let trap: SignalTrap
    let session: SharedSession
    let monitor: BatchMonitor
    let manifest: ManifestWriter?

    private struct State {
        var next = 0
        var stopped = false
        var reports: [JobReport?]
    }
    private let state: Mutex<State>

    init(
        items: [BatchItem], settings: BatchSettings, trap: SignalTrap, session: SharedSession, monitor: BatchMonitor,
        manifest: ManifestWriter?
    ) {
        self.items = items
        self.manifest = manifest
        self.settings = settings
        self.trap = trap
        self.session = session
        self.monitor = monitor
        state = Mutex(State(reports: Array(repeating: nil, count: items.count)))
    }

    /// Runs every file (or until stopped) and returns each file's report; nil for a file that never
    /// started (after a signal or a `--fail-fast` failure).
    func run() -> [JobReport?] {
        let threads = max(1, min(settings.jobs, items.count))
        let group = DispatchGroup()
        for slot in 0..<threads {
            group.enter()
            let thread = OSThread { [self] in
                work(slot: slot)
                group.leave()
            }
            // FFmpeg's demuxers and encoders expect a C-sized stack, not Foundation's 512 KiB default.
            thread.stackSize = 8 << 20
            thread.start()
        }
        group.wait()
        return state.withLock { $0.reports }
    }

    /// The next file to start, or nil when there is none or the batch stops.
    private func take() -> Int? {
        state.withLock { state in
            guard !state.stopped, !trap.isCancelled, state.next < items.count else { return nil }
            defer { state.next += 1 }
            return state.next
        }
    }

    private func work(slot: Int) {
        while let index = take() {
            let item = items[index]
            monitor.started(slot: slot, index: index, item: item)
            let report = process(item, slot: slot)
            state.withLock { state in
                state.reports[index] = report
                if report.status == "failed", settings.failFast { state.stopped = true }
            }
            record(report)
            monitor.finished(slot: slot, index: index, report: report)
        }
    }

    /// Appends the report to the manifest; a file the same manifest already records as done (a
    /// resumed run) is not recorded twice.
    private func record(_ report: JobReport) {
        guard let manifest else { return }
        if report.status == "skipped", settings.resumePath == manifest.path,
            settings.resumeDone.contains(ManifestReader.Pair(input: report.input, destination: report.destination))
        {
            return
        }
        do {
            try manifest.append(report)
        } catch {
            monitor.console.error(CommandFailure(error).message)
        }
    }

    /// One file, start to end: resume and skip checks, then the transcode. Never throws: a failure
    /// is a report.
    func process(_ item: BatchItem, slot: Int) -> JobReport {
        let started = Timestamp()
        var report = JobReport(
            input: item.input.description, destination: item.destination.description,
            status: "failed", seconds: 0)
        do {
            if settings.resumeDone.contains(ManifestReader.Pair(input: report.input, destination: report.destination)) {
                report.status = "skipped"
                report.reason = "done in \(settings.resumePath ?? "the manifest")"
            } else {
                switch try (settings.skipExisting ? item.freshness(session: session) : .stale(sourceSHA256: nil)) {
                case .upToDate(let reason):
                    report.status = "skipped"
                    report.reason = reason
                case .stale(let hash):
                    if settings.dryRun {
                        report.status = "planned"
                    } else {
                        report = try transcode(item, slot: slot, knownSourceSHA256: hash)
                    }
                }
            }
        } catch {
            var failure = CommandFailure(error)
            if let code = trap.exitCode {
                failure = CommandFailure(
                    .signalled(code),
                    "\(item.input): interrupted before it finished; nothing was left behind")
            }
            report.status = "failed"
            report.error = failure.message
            report.exitCode = failure.status.rawValue
        }
        report.seconds = Timestamp().timeIntervalSince(started)
        return report
    }

    private func transcode(_ item: BatchItem, slot: Int, knownSourceSHA256: String?) throws -> JobReport {
        if case .file(let path) = item.destination {
            let folder = PathText.deletingLastComponent(path)
            if !folder.isEmpty {
                guard PathText.createFolders(folder) else {
                    throw CommandFailure(
                        .cannotCreate,
                        "\(folder): cannot create the output folder for \(item.input); check DEST's permissions")
                }
            }
        }
        var job = TranscodeJob(
            input: item.input, destination: item.destination, encoding: settings.encoding,
            upload: settings.upload, object: settings.object)
        job.knownSourceSHA256 = knownSourceSHA256
        let monitor = monitor
        let input = item.input.description
        let (_, report) = try job.run(
            session: { try session.get() }, trap: trap,
            progress: { monitor.progress(slot: slot, $0) },
            warning: { monitor.warning("\(input): \($0)") })
        return report
    }
}

extension BatchItem {
    enum Freshness: Equatable {
        case upToDate(reason: String)
        /// To transcode; the source's hash when the check had to compute it.
        case stale(sourceSHA256: String?)
    }

    /// `--skip-existing`. To S3: HEAD the target; it is up to date when its `x-amz-meta-source-size`
    /// and `x-amz-meta-source-sha256` both match the source (the size is compared first, so a source
    /// is hashed only when the size matches; the hash is then reused for the upload's metadata).
    /// An S3 source is hashed by reading it whole (only when the sizes match).
    /// To a local folder: the output exists, is not empty, and is at least as new as the source.
    func freshness(session: SharedSession) throws -> Freshness {
        switch destination {
        case .s3(let bucket, let key):
            let attributes: ObjectAttributes
            do {
                attributes = try session.get().client.headObject(bucket: bucket, key: key)
            } catch let error as S3Error where error.kind == .noSuchKey {
                return .stale(sourceSHA256: nil)
            }
            let source: ByteSource
            switch input {
            case .file(let path): source = try FileSource(path: path)
            case .s3(let sourceBucket, let sourceKey):
                source = try S3ObjectSource(client: session.get().client, bucket: sourceBucket, key: sourceKey)
            default: return .stale(sourceSHA256: nil)
            }
            guard let size = source.size, attributes.metadata["source-size"] == String(size) else {
                return .stale(sourceSHA256: nil)
            }
            let hash = try SourceHash.sha256(of: source)
            guard attributes.metadata["source-sha256"] == hash else { return .stale(sourceSHA256: hash) }
            return .upToDate(reason: "up to date (source SHA-256 and size match the object's)")
        case .file(let path):
            guard case .file(let sourcePath) = input else { return .stale(sourceSHA256: nil) }
            guard let target = FileStatus(path), let source = FileStatus(sourcePath),
                target.size > 0, target.modified >= source.modified
            else { return .stale(sourceSHA256: nil) }
            return .upToDate(reason: "up to date (the output is newer than the source)")
        default:
            return .stale(sourceSHA256: nil)
        }
    }
}
