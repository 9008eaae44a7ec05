import ArgumentParser

/// The `s3transcode` command line: `s3transcode [transcode] INPUT DEST` and its siblings.
public struct S3Transcode: ParsableCommand {
    public static let version = "0.1.0"

    public static let configuration = CommandConfiguration(
        commandName: "s3transcode",
        abstract: "Transcode audio to MP3 and stream it straight into S3: no temp files, exact MP3 headers.",
        discussion: """
            Examples:
              s3transcode in.wav s3://bucket/key.mp3
              s3transcode in.wav out.mp3 --vbr 2
              cat in.wav | s3transcode - s3://bucket/key.mp3 --title "Take 5"
              s3transcode probe in.wav --json

            Exit codes:
            \(ExitStatus.documented)

            Shell completion: s3transcode --generate-completion-script bash|zsh|fish
            """,
        version: "s3transcode \(version)",
        subcommands: [
            TranscodeCommand.self, BatchCommand.self, ProbeCommand.self, PresignCommand.self, CleanupCommand.self,
            LambdaCommand.self,
        ],
        defaultSubcommand: TranscodeCommand.self)

    public init() {}

    /// The arguments to parse from `argv`: the binary started as `bootstrap` with none (a Lambda
    /// deployment zip holds it under that name) runs `lambda`.
    public static func arguments(_ argv: [String] = CommandLine.arguments) -> [String] {
        let name = argv.first?.split(separator: "/").last.map(String.init) ?? ""
        return name == "bootstrap" && argv.count == 1 ? ["lambda"] : Array(argv.dropFirst())
    }
}
