import ArgumentParser
import AudioTranscode
import HTTPClient

/// `s3transcode probe INPUT`: what an input holds, as FFmpeg reads it.
struct ProbeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe",
        abstract: "Show an input's container, codec, duration, rate, channels and tags.",
        discussion: """
            Examples:
              s3transcode probe in.wav
              s3transcode probe out.mp3 --json
              s3transcode probe s3://bucket/music/in.wav
            """)

    @Argument(help: "A path, s3://BUCKET/KEY, or - for standard input.")
    var input: String

    @OptionGroup(title: "S3") var s3: S3OptionGroup
    @OptionGroup(title: "Output") var output: OutputOptionGroup

    func run() throws {
        FFmpegLog.setLevel(output.verbose >= 2 ? .warning : .quiet)
        do {
            let location = try Location(parsing: input)
            let job = TranscodeJob(
                input: location, destination: .standardStream, encoding: EncodingOptions(),
                upload: UploadOptionGroup(), object: ObjectOptionGroup())
            let session = { try S3Session(options: s3, verbosity: output.verbose, cancellation: CancellationFlag()) }
            let result = try probe(try job.openSource(session: session))
            if output.json {
                Console.shared.output(try JSONLine.encode(result))
            } else {
                print(ProbeCommand.text(for: result, name: location.description))
            }
        } catch {
            let failure = CommandFailure(error)
            Console.shared.error(failure.message)
            throw ExitCode(failure.status.rawValue)
        }
    }

    static func text(for result: ProbeResult, name: String) -> String {
        var lines = [
            "\(name):",
            "  container:   \(result.container)" + (result.containerLongName.map { " (\($0))" } ?? ""),
            "  codec:       \(result.codec)" + (result.codecLongName.map { " (\($0))" } ?? ""),
            "  duration:    "
                + (result.duration.map { "\(Summary.clock($0)) (\(String(format1: $0)) s)" } ?? "unknown"),
            "  sample rate: \(result.sampleRate) Hz",
            "  channels:    \(result.channels) (\(result.channelLayout))",
        ]
        if let format = result.sampleFormat {
            lines.append("  format:      \(format)" + (result.bitsPerSample.map { ", \($0) bits" } ?? ""))
        }
        if let rate = result.bitRate { lines.append("  bitrate:     \(rate / 1000) kbit/s") }
        for key in result.tags.keys.sorted() { lines.append("  \(key): \(result.tags[key]!)") }
        return lines.joined(separator: "\n")
    }
}
