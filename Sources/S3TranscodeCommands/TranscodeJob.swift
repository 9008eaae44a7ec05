import AudioTranscode
import Basics
import Dispatch
import S3
import SigV4
import Threads

extension MultipartUpload: OutputSink {}
extension S3ObjectSource: ByteSource {}
extension PresignedUpload: OutputSink {}

/// What one finished (or failed) file reports: the `--json` object and the summary line.
struct JobReport: Codable {
    var input: String
    var destination: String
    /// `uploaded` (to S3), `written` (a local file or stdout), `skipped` or `failed`.
    var status: String
    var bytes: Int64?
    var audioSeconds: Double?
    var parts: Int?
    var etag: String?
    var checksumCRC32: String?
    var sourceSHA256: String?
    var seconds: Double
    var error: String?
    var exitCode: Int32?
    /// Why a file was skipped (`batch`): the target is up to date, or a manifest says it is done.
    var reason: String?
}

/// One input transcoded to one destination: the unit that `transcode` runs once and `batch` runs
/// per file. It opens the source and the sink, runs the transcoder, and turns the outcome into a
/// `JobReport`; every failure leaves nothing behind (the sink's `abort()`).
struct TranscodeJob {
    var input: Location
    var destination: Location
    var encoding: EncodingOptions
    var upload: UploadOptionGroup
    var object: ObjectOptionGroup
    /// The input's SHA-256 when the caller already hashed it (`batch --skip-existing`), so that it is
    /// not read twice before the upload starts.
    var knownSourceSHA256: String? = nil
    /// How a presigned URL destination is reached (`transcode` sets it; elsewhere such a
    /// destination is refused).
    var presignedAccess: PresignedAccess? = nil

    /// Runs the job. `session` is needed only when the input or the destination is on S3.
    func run(
        session: () throws -> S3Session, trap: SignalTrap,
        progress: @escaping (TranscodeProgress) -> Void = { _ in },
        warning: @escaping (String) -> Void
    ) throws -> (TranscodeResult, JobReport) {
        let started = Timestamp()
        // One session for the input and the destination (S3 to S3 resolves credentials once).
        var opened: S3Session?
        func shared() throws -> S3Session {
            if let opened { return opened }
            let made = try session()
            opened = made
            return made
        }
        let source = try openSource(session: shared)
        let sink = try openSink(session: shared, source: source, isCancelled: { trap.isCancelled })
        // --max-memory bounds the part buffers, and separately the audio a parallel encode holds.
        var encoding = encoding
        encoding.segmentMemory = upload.maxMemory.flatMap(Units.bytes)
        let result: TranscodeResult
        do {
            result = try Transcoder(options: encoding).transcode(
                from: source, to: sink.sink, progress: progress, warning: warning, isCancelled: { trap.isCancelled })
        } catch {
            // The transcoder aborted the upload; when that failed too, the upload is left (and billed):
            // say so, with the cleanup command (found by the fault tests: the message was silent).
            guard let abortError = sink.upload?.abortError else { throw error }
            var failure = CommandFailure(error)
            failure.leftBehind = abortError.message
            if !failure.message.contains(abortError.message) { failure.message += "; " + abortError.message }
            throw failure
        }
        var report = JobReport(
            input: input.description, destination: sink.name, status: "written",
            bytes: result.bytesWritten, audioSeconds: result.duration,
            seconds: Timestamp().timeIntervalSince(started))
        if let upload = sink.upload, let uploaded = upload.result {
            report.status = "uploaded"
            report.parts = uploaded.partCount
            report.etag = uploaded.etag
            report.checksumCRC32 = String(uploaded.crc32, radix: 16)
            report.sourceSHA256 = try sink.sourceSHA256 ?? sink.pendingSHA256?.value()
            if let opened, opened.verbosity > 0 { Console.shared.info(uploaded.verification) }
        }
        if let presigned = sink.presigned, let uploaded = presigned.result {
            report.status = "uploaded"
            report.parts = 1
            report.etag = uploaded.etag
        }
        return (result, report)
    }

    /// `session` is called only for an S3 input.
    func openSource(session: () throws -> S3Session) throws -> ByteSource {
        switch input {
        case .standardStream: return FileDescriptorSource.standardInput()
        case .file(let path): return try FileSource(path: path)
        case .s3(let bucket, let key): return try S3ObjectSource(client: session().client, bucket: bucket, key: key)
        case .presignedURL:
            throw CommandFailure(.usage, "\(input): a presigned URL is not an input; use s3://BUCKET/KEY")
        }
    }

    /// The source where no S3 session is at hand: S3 inputs are refused as a usage error.
    func openSource() throws -> ByteSource {
        try openSource(session: {
            throw CommandFailure(.usage, "\(input): reading from S3 is not supported here yet; download it first")
        })
    }

    private struct OpenedSink {
        var sink: OutputSink
        var name: String
        var upload: MultipartUpload?
        var sourceSHA256: String?
        /// A local file's digest still being computed; the upload has waited for it by the end.
        var pendingSHA256: PendingDigest?
        var presigned: PresignedUpload?
    }

    /// `isCancelled` ends a source hash that the upload would otherwise wait for (a signal during it).
    private func openSink(
        session: () throws -> S3Session, source: ByteSource,
        isCancelled: @escaping @Sendable () -> Bool
    ) throws -> OpenedSink {
        let expectedSize = source.size
        switch destination {
        case .standardStream:
            return OpenedSink(sink: FileDescriptorSink.standardOutput(), name: "-")
        case .file(let path):
            let target = TranscodeJob.outputPath(path, input: input)
            return OpenedSink(sink: try FileSink(path: target), name: target)
        case .s3(let bucket, let key):
            let session = try session()
            let client = session.client
            var sourceSHA256 = knownSourceSHA256
            if sourceSHA256 == nil, let object = source as? S3ObjectSource {
                sourceSHA256 = try SourceHash.sha256(of: object.reopened(), isCancelled: isCancelled)
            }
            // A regular file is hashed on a thread of its own while encoding starts; the upload waits
            // for the digest only when it creates the object (after part 1 fills, or at the end).
            // Anything else given as a path (a FIFO, `<(…)`, /dev/stdin) can be read only once: a
            // second reader would split its bytes with the transcoder, so it is treated as standard
            // input is, read once and recorded without a source hash.
            var pending: PendingDigest?
            if sourceSHA256 == nil, case .file(let path) = input, source.isSeekable {
                pending = PendingDigest { try SourceHash.sha256(ofFileAt: path, isCancelled: isCancelled) }
            }
            var late: (@Sendable () throws -> [(name: String, value: String)])?
            if let pending {
                let size = String(expectedSize ?? 0)
                late = { @Sendable in
                    [("x-amz-meta-source-sha256", try pending.value()), ("x-amz-meta-source-size", size)]
                }
            }
            let headers = object.headers(
                sourceSHA256: sourceSHA256, sourceSize: sourceSHA256 == nil ? nil : expectedSize)
            let upload = try MultipartUpload(
                destination: UploadDestination(bucket: bucket, key: key, headers: headers), store: client,
                options: upload.options(
                    expectedSize: expectedSize, store: session.store, settings: session.checksumSettings),
                lateHeaders: late)
            return OpenedSink(
                sink: upload, name: destination.description, upload: upload,
                sourceSHA256: sourceSHA256, pendingSHA256: pending)
        case .presignedURL(let url):
            guard let presignedAccess else {
                throw CommandFailure(
                    .usage, "\(destination): a presigned URL is a destination of `s3transcode transcode` only")
            }
            // The object headers S3 takes from the PUT; no source hash (a presigned URL does not sign it).
            let sink = try presignedAccess.sink(
                url: url, objectHeaders: object.headers(sourceSHA256: nil),
                budget: upload.presignedBudget, expectedSize: expectedSize)
            return OpenedSink(sink: sink, name: destination.description, presigned: sink)
        }
    }

    /// A destination that is an existing directory gets the input's name with `.mp3`.
    static func outputPath(_ path: String, input: Location) -> String {
        guard let status = FileStatus(path), status.isDirectory else { return path }
        let name: String
        switch input {
        case .file(let inputPath): name = PathText.lastComponent(inputPath)
        case .s3(_, let key): name = PathText.lastComponent(key)
        default: name = "stdin"
        }
        return PathText.appending(path, PathText.deletingExtension(name) + ".mp3")
    }
}

/// A value computed on a thread of its own, waited for where it is needed.
final class PendingDigest: @unchecked Sendable {  // `outcome` is written before `done` is signalled
    private let done = DispatchSemaphore(value: 0)
    private var outcome: Result<String, any Error>?

    init(_ compute: @escaping @Sendable () throws -> String) {
        OSThread { [self] in
            outcome = Result(catching: compute)
            done.signal()
        }.start()
    }

    func value() throws -> String {
        done.wait()
        done.signal()  // later callers pass straight through
        return try outcome!.get()
    }
}

/// The source's SHA-256, recorded on the object as `x-amz-meta-source-sha256`.
///
/// S3 takes an object's metadata when the object is created (CreateMultipartUpload), long before
/// the transcoder has read the whole input. So a local file is hashed in full by a separate
/// sequential read on a thread of its own (`PendingDigest`) while encoding starts; the upload waits
/// for the digest only when it creates the object, after part 1 has filled.
/// Standard input can be read only once: its objects carry no source hash.
///
/// An S3 input is hashed the same way: a second reader of the same object version (its ranged GETs
/// pinned to the ETag the transcoder reads, so the hash is of the very bytes transcoded) streams it
/// once before the upload starts. That downloads the input twice; the first pass runs at network
/// speed, far faster than the encoder, and keeps the metadata the same whatever the input. It
/// reads 1 MiB chunks like the transcoder: 4 MiB chunks (a quarter of the requests) raised the
/// run's peak RSS by 5 MiB, since the allocator keeps the freed chunks for the upload phase.
enum SourceHash {
    static func sha256(ofFileAt path: String, isCancelled: () -> Bool = { false }) throws -> String {
        try sha256(of: try FileSource(path: path), isCancelled: isCancelled)
    }

    /// Reads `file` to its end; stops with `CommandFailure.interrupted` as soon as `isCancelled`
    /// says so (checked between 1 MiB chunks), so a signal is not held up by a long hash.
    static func sha256(of file: ByteSource, isCancelled: () -> Bool = { false }) throws -> String {
        var hasher = PayloadHasher()
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { chunk.deallocate() }
        while case let count = try file.read(into: chunk), count > 0 {
            if isCancelled() {
                throw CommandFailure(.interrupted, "\(file.name): interrupted while hashing the source")
            }
            hasher.update(UnsafeRawBufferPointer(rebasing: chunk[..<count]))
        }
        return hasher.finalize()
    }
}
