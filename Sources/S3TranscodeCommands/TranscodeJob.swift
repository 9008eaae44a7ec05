import AudioTranscode
import Foundation
import S3
import SigV4

extension MultipartUpload: OutputSink {}

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

    /// Runs the job. `session` is needed only when the input or the destination is on S3.
    func run(session: () throws -> S3Session, trap: SignalTrap,
             progress: @escaping (TranscodeProgress) -> Void = { _ in },
             warning: @escaping (String) -> Void) throws -> (TranscodeResult, JobReport) {
        let started = Date()
        let source = try openSource()
        let sink = try openSink(session: session, expectedSize: source.size)
        let result = try Transcoder(options: encoding).transcode(
            from: source, to: sink.sink, progress: progress, warning: warning, isCancelled: { trap.isCancelled })
        var report = JobReport(input: input.description, destination: sink.name, status: "written",
                               bytes: result.bytesWritten, audioSeconds: result.duration,
                               seconds: Date().timeIntervalSince(started))
        if let upload = sink.upload, let uploaded = upload.result {
            report.status = "uploaded"
            report.parts = uploaded.partCount
            report.etag = uploaded.etag
            report.checksumCRC32 = String(uploaded.crc32, radix: 16)
            report.sourceSHA256 = sink.sourceSHA256
        }
        return (result, report)
    }

    func openSource() throws -> ByteSource {
        switch input {
        case .standardStream: return FileDescriptorSource.standardInput()
        case .file(let path): return try FileSource(path: path)
        case .s3, .presignedURL:
            throw CommandFailure(.usage, "\(input): reading from S3 is not supported yet; download it first")
        }
    }

    private struct OpenedSink {
        var sink: OutputSink
        var name: String
        var upload: MultipartUpload?
        var sourceSHA256: String?
    }

    private func openSink(session: () throws -> S3Session, expectedSize: Int64?) throws -> OpenedSink {
        switch destination {
        case .standardStream:
            return OpenedSink(sink: FileDescriptorSink.standardOutput(), name: "-")
        case .file(let path):
            let target = TranscodeJob.outputPath(path, input: input)
            return OpenedSink(sink: try FileSink(path: target), name: target)
        case .s3(let bucket, let key):
            let client = try session().client
            var sourceSHA256: String?
            if case .file(let path) = input { sourceSHA256 = try knownSourceSHA256 ?? SourceHash.sha256(ofFileAt: path) }
            let headers = object.headers(sourceSHA256: sourceSHA256, sourceSize: sourceSHA256 == nil ? nil : expectedSize)
            let upload = try MultipartUpload(
                destination: UploadDestination(bucket: bucket, key: key, headers: headers), store: client,
                options: upload.options(expectedSize: expectedSize, verifyETag: object.etagIsMD5))
            return OpenedSink(sink: upload, name: destination.description, upload: upload, sourceSHA256: sourceSHA256)
        case .presignedURL:
            throw CommandFailure(.usage, "\(destination): presigned URL destinations are not supported yet")
        }
    }

    /// A destination that is an existing directory gets the input's name with `.mp3`.
    static func outputPath(_ path: String, input: Location) -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else { return path }
        let name: String
        switch input {
        case .file(let inputPath): name = (inputPath as NSString).lastPathComponent
        case .s3(_, let key): name = (key as NSString).lastPathComponent
        default: name = "stdin"
        }
        return (path as NSString).appendingPathComponent(((name as NSString).deletingPathExtension) + ".mp3")
    }
}

/// The source's SHA-256, recorded on the object as `x-amz-meta-source-sha256`.
///
/// S3 takes an object's metadata when the object is created (CreateMultipartUpload), long before
/// the transcoder has read the whole input. So a local file is hashed in full by a separate
/// sequential read before the upload starts (the page cache then serves the transcoder's read).
/// Standard input can be read only once: its objects carry no source hash.
enum SourceHash {
    static func sha256(ofFileAt path: String) throws -> String {
        let file = try FileSource(path: path)
        var hasher = PayloadHasher()
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { chunk.deallocate() }
        while case let count = try file.read(into: chunk), count > 0 {
            hasher.update(UnsafeRawBufferPointer(rebasing: chunk[..<count]))
        }
        return hasher.finalize()
    }
}
