import ArgumentParser
import AudioTranscode

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `--bitrate`, `--vbr`, `--abr`, `--quality`, `--sample-rate`, `--channels`: how the MP3 is encoded.
struct EncodingOptionGroup: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Constant bitrate in kbit/s (8-320).", valueName: "kbps"))
    var bitrate: Int?

    @Option(
        name: .long,
        help: ArgumentHelp("Variable bitrate at LAME quality 0 (best) to 9 (smallest), as lame -V.", valueName: "q"))
    var vbr: Int?

    @Option(name: .long, help: ArgumentHelp("Average bitrate in kbit/s (8-320), as lame --abr.", valueName: "kbps"))
    var abr: Int?

    @Option(
        name: .long,
        help: ArgumentHelp("LAME's algorithm quality, 0 (best, slowest) to 9 (fastest), as lame -q.", valueName: "0-9"))
    var quality: Int?

    @Option(
        name: .long,
        help: ArgumentHelp("Output sample rate; rates MP3 cannot carry go to the nearest legal one.", valueName: "hz"))
    var sampleRate: Int?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Output channels, 1 or 2 (default: mono stays mono, the rest becomes stereo).", valueName: "1|2"))
    var channels: Int?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Encoder threads for each file (default: transcode uses the processors the process may run on, at most 8; batch, which already encodes --jobs files at once, and lambda use 1). With 2 or more, the audio is cut into segments of about 26 s that are encoded at once, each by its own LAME encoder on its own thread, and joined into one MP3 stream: one Xing/Info + LAME header, gapless, valid at every join.",
            valueName: "n"))
    var threads: Int?

    /// Frames per segment with --threads (tests use short segments to get several joins); also
    /// S3TRANSCODE_SEGMENT_FRAMES.
    @Option(name: .long, help: ArgumentHelp(visibility: .hidden))
    var segmentFrames: Int?

    func validate() throws {
        if [bitrate, vbr, abr].compactMap({ $0 }).count > 1 {
            throw ValidationError("--bitrate, --vbr and --abr choose the bitrate mode: give only one of them")
        }
        try encodingOptions(tags: Tags(), writesTags: true).validate()
    }

    /// `defaultThreads`: the encoder threads when --threads is not given (each command says).
    func encodingOptions(tags: Tags, writesTags: Bool, defaultThreads: Int = 1) throws(TranscodeError)
        -> EncodingOptions
    {
        let mode: BitrateMode
        if let vbr {
            mode = .vbr(quality: vbr)
        } else if let abr {
            mode = .abr(kbps: abr)
        } else {
            mode = .cbr(kbps: bitrate ?? 192)
        }
        var options = EncodingOptions(
            bitrate: mode, algorithmQuality: quality, sampleRate: sampleRate,
            channels: channels, tags: tags, writesTags: writesTags)
        options.threads = threads ?? defaultThreads
        options.segmentFrames =
            segmentFrames ?? getenv("S3TRANSCODE_SEGMENT_FRAMES").flatMap { Int(String(cString: $0)) }
        return options
    }
}

/// `--title` … `--comment`, `--no-tags`: the ID3v2 tag. Flags win over the input's own tags.
struct TagOptionGroup: ParsableArguments {
    @Option(help: "Title (ID3 TIT2).") var title: String?
    @Option(help: "Artist (ID3 TPE1).") var artist: String?
    @Option(help: "Album (ID3 TALB).") var album: String?
    @Option(help: "Year or date (ID3 TDRC).") var year: String?
    @Option(help: ArgumentHelp("Track number, N or N/TOTAL (ID3 TRCK).", valueName: "n")) var track: String?
    @Option(help: "Genre (ID3 TCON).") var genre: String?
    @Option(help: "Comment (ID3 COMM).") var comment: String?
    @Flag(help: "Write no ID3v2 tag at all.") var noTags = false

    func validate() throws {
        if noTags, tags != Tags() {
            throw ValidationError("--no-tags writes no tag: drop it or the tag options")
        }
    }

    var tags: Tags {
        Tags(title: title, artist: artist, album: album, year: year, track: track, genre: genre, comment: comment)
    }
}
