import CAVCodec
import CAVFormat
import CAVUtil

/// What `probe` finds in an input: for `s3transcode probe` and, being `Codable`, its `--json`.
public struct ProbeResult: Sendable, Equatable, Codable {
    /// libavformat's short name (`wav`, `mp3`, `flac`) and long name.
    public var container: String
    public var containerLongName: String?
    /// libavcodec's name for the audio codec (`pcm_s16le`, `mp3`, `flac`) and its long name.
    public var codec: String
    public var codecLongName: String?
    /// Seconds, when the container says.
    public var duration: Double?
    public var sampleRate: Int
    public var channels: Int
    /// `mono`, `stereo`, `5.1(side)`; the default layout for the count when the file does not say.
    public var channelLayout: String
    /// The decoded sample format (`s16`, `s32`, `flt`, `fltp`).
    public var sampleFormat: String?
    /// Bits per sample as stored, when the format has a fixed width (16, 24, 32; nil for MP3).
    public var bitsPerSample: Int?
    /// Bits per second: the stream's, else the container's.
    public var bitRate: Int?
    /// All container and stream metadata, keys in lower case (`title`, `artist`, `date`, `encoder` …).
    public var tags: [String: String]
}

/// Reads an input's header and stream information without decoding it all.
///
/// Throws like `Transcoder`: `.notAudio` for anything that is not decodable audio, or the source's
/// own error.
public func probe(_ source: ByteSource) throws -> ProbeResult {
    do {
        return try probeStreams(source)
    } catch let error as FFmpegError {
        throw TranscodeError(
            .internalFailure, "\(source.name): probing failed in \(error.operation)", underlying: error.message)
    }
}

private func probeStreams(_ source: ByteSource) throws -> ProbeResult {
    let demuxer = try Demuxer(source: source)
    let stream = try demuxer.audioStream()
    let parameters = stream.pointee.codecpar!
    let channels = parameters.pointee.ch_layout.nb_channels
    guard channels > 0 else { throw Demuxer.notAudio(source, "its header says it has zero channels", 0) }
    let layout = ChannelLayout(declared: parameters.pointee.ch_layout, channels: channels)
    let descriptor = avcodec_descriptor_get(parameters.pointee.codec_id)
    let bits =
        parameters.pointee.bits_per_raw_sample > 0
        ? parameters.pointee.bits_per_raw_sample
        : av_get_exact_bits_per_sample(parameters.pointee.codec_id)
    let rate = parameters.pointee.bit_rate > 0 ? parameters.pointee.bit_rate : demuxer.format.pointee.bit_rate
    return ProbeResult(
        container: demuxer.containerName,
        containerLongName: demuxer.containerLongName,
        codec: String(cString: avcodec_get_name(parameters.pointee.codec_id)),
        codecLongName: descriptor?.pointee.long_name.map { String(cString: $0) },
        duration: demuxer.duration(of: stream),
        sampleRate: Int(parameters.pointee.sample_rate),
        channels: Int(channels),
        channelLayout: layout.name,
        sampleFormat: av_get_sample_fmt_name(AVSampleFormat(parameters.pointee.format)).map { String(cString: $0) },
        bitsPerSample: bits > 0 ? Int(bits) : nil,
        bitRate: rate > 0 ? Int(rate) : nil,
        tags: metadata(of: demuxer.format, stream: stream))
}

/// Process-wide FFmpeg logging. FFmpeg prints its own diagnostics to stderr by default; the
/// transcoder reports what matters through its warning callback and its errors, so a command
/// line normally silences FFmpeg once at start-up with `FFmpegLog.setLevel(.quiet)`.
public enum FFmpegLog {
    public enum Level: Int32, Sendable {
        case quiet = -8
        case error = 16
        case warning = 24
        case info = 32
        case debug = 48
    }

    public static func setLevel(_ level: Level) { av_log_set_level(level.rawValue) }
}
