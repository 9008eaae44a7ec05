import ArgumentParser
import AudioTranscode
import Basics
import Threads

/// `s3transcode [transcode] INPUT DEST`: one input, one MP3.
struct TranscodeCommand: ParsableCommand {
    /// One file on every processor the process may use (issue 13's measures hold: docs/ARCHITECTURE.md),
    /// at most 8 (each thread holds a segment of audio, about 5 MiB of 16-bit stereo).
    static var defaultThreads: Int { min(8, availableProcessorCount()) }

    static let configuration = CommandConfiguration(
        commandName: "transcode",
        abstract: "Transcode one input to MP3: to S3, a local file, or stdout.",
        discussion: """
            INPUT is a path, or - for standard input (a pipe works, WAV included). DEST is s3://BUCKET/KEY, a local path (a directory gets INPUT's name with .mp3), or - for standard output. A local file or an S3 object gets an exact Xing/Info + LAME header (exact duration, gapless playback); standard output cannot be rewritten, so a pipe gets none.

            DEST may also be a presigned PUT URL (SigV4 or legacy; `s3transcode presign --method PUT` makes one): the whole MP3 is built in memory (--max-memory, default 256M), then sent with one PUT. Quote it: it contains `&`. It is never printed.

            Examples:
              s3transcode in.wav s3://bucket/music/in.mp3
              s3transcode in.flac out.mp3 --vbr 0 \\
                  --title "Blue in Green" --artist "Bill Evans"
              s3transcode - - < in.wav > out.mp3
              s3transcode in.wav s3://bucket/a.mp3 \\
                  --endpoint-url http://127.0.0.1:9000 --part-size 8M
              s3transcode in.wav "$(s3transcode presign s3://bucket/a.mp3 --method PUT)"
            """)

    @Argument(help: "The input: a path, or - for standard input.")
    var input: String

    @Argument(help: "The destination: s3://BUCKET/KEY, a presigned PUT URL, a local path, or - for standard output.")
    var destination: String

    @OptionGroup(title: "Encoding") var encoding: EncodingOptionGroup
    @OptionGroup(title: "Tags") var tags: TagOptionGroup
    @OptionGroup(title: "S3") var s3: S3OptionGroup
    @OptionGroup(title: "Upload") var upload: UploadOptionGroup
    @OptionGroup(title: "Object") var object: ObjectOptionGroup
    @OptionGroup(title: "Output") var output: OutputOptionGroup

    func run() throws {
        FFmpegLog.setLevel(output.verbose >= 2 ? .warning : .quiet)
        let trap = SignalTrap()
        let console = Console.shared
        do {
            let job = TranscodeJob(
                input: try Location(parsing: input), destination: try Location(parsing: destination),
                encoding: try encoding.encodingOptions(
                    tags: tags.tags, writesTags: !tags.noTags, defaultThreads: Self.defaultThreads),
                upload: upload, object: object,
                presignedAccess: PresignedAccess(
                    options: s3, verbosity: output.verbose, cancellation: trap.cancellation))
            if job.input == .standardStream && job.destination == .standardStream && output.json {
                throw CommandFailure(.usage, "--json prints to stdout, which carries the MP3 here: drop --json")
            }
            let progress = ProgressLine(name: job.input.description, console: console, enabled: !output.quiet)
            let (result, report) = try job.run(
                session: { try S3Session(options: s3, verbosity: output.verbose, cancellation: trap.cancellation) },
                trap: trap, progress: progress.update,
                warning: { if !output.quiet { console.warning("\(job.input): \($0)") } })
            console.clearStatus()
            if output.verbose > 0, result.segments > 1 {
                console.info(Summary.joins(of: result))
                if output.verbose > 1 { for join in result.joins { console.info(Summary.line(for: join)) } }
            }
            if output.json { console.output(try JSONLine.encode(report)) }
            if !output.quiet { console.info(Summary.line(for: report)) }
        } catch {
            console.clearStatus()
            var failure = CommandFailure(error)
            if let code = trap.exitCode {
                // After a signal, the cause is the signal; but an upload whose abort failed is still
                // said, with the command that removes it.
                failure = CommandFailure(
                    .signalled(code),
                    "\(input): interrupted; "
                        + (failure.leftBehind ?? "nothing was left behind"), leftBehind: failure.leftBehind)
            }
            console.error(failure.message)
            throw ExitCode(failure.status.rawValue)
        }
    }
}

/// The live line on a terminal: how far the transcode is, and how fast.
final class ProgressLine: @unchecked Sendable {
    private let name: String
    private let console: Console
    private let enabled: Bool
    private let started = Timestamp()

    init(name: String, console: Console, enabled: Bool) {
        self.name = name
        self.console = console
        self.enabled = enabled && console.isInteractive
    }

    func update(_ progress: TranscodeProgress) {
        guard enabled else { return }
        let elapsed = max(Timestamp().timeIntervalSince(started), 0.001)
        var line = "\(name): \(Summary.clock(progress.secondsDone))"
        if let total = progress.totalSeconds { line += " of \(Summary.clock(total))" }
        if let fraction = progress.fractionDone { line += " (\(Int(fraction * 100))%)" }
        line += ", \(Int(progress.secondsDone / elapsed))× realtime"
        console.status(line)
    }
}

enum Summary {
    /// `in.wav → s3://b/k.mp3: 7:40 of audio, 10.5 MiB in 3 parts, 4.1 s (112× realtime)`.
    static func line(for report: JobReport) -> String {
        var line = "\(report.input) → \(report.destination): \(report.status)"
        if let seconds = report.audioSeconds { line += ", \(clock(seconds)) of audio" }
        if let bytes = report.bytes { line += ", \(Units.describe(bytes: bytes))" }
        if let parts = report.parts { line += parts == 1 ? " in one request" : " in \(parts) parts" }
        line += ", \(String(format1: report.seconds)) s"
        if let audio = report.audioSeconds, report.seconds > 0 { line += " (\(Int(audio / report.seconds))× realtime)" }
        return line
    }

    /// `parallel: 3 segments, joins at frames 1020,2000`: where a parallel encode joined its segments.
    static func joins(of result: TranscodeResult) -> String {
        "parallel: \(result.segments) segments, joins at frames "
            + result.joins.map { String($0.frame) }.joined(separator: ",")
    }

    /// `join at frame 1020: main data moved 21 bytes, 0 frames enlarged, same content`.
    static func line(for join: SegmentJoin) -> String {
        "join at frame \(join.frame): main data moved \(join.shift) bytes, \(join.enlargedFrames) frames enlarged, "
            + (join.contentMatches ? "same content" : "content differs")
    }

    /// `7:40`, `1:02:03`.
    static func clock(_ seconds: Double) -> String {
        let whole = Int(seconds.rounded(.down))
        let (h, m, s) = (whole / 3600, whole / 60 % 60, whole % 60)
        let two = { (n: Int) in n < 10 ? "0\(n)" : "\(n)" }
        return h > 0 ? "\(h):\(two(m)):\(two(s))" : "\(m):\(two(s))"
    }
}

enum JSONLine {
    static func encode<T: Encodable>(_ value: T) throws -> String {
        try JSONEncoding.encode(value)
    }
}
