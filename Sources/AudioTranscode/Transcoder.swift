import CAVCodec
import CAVFormat
import CAVUtil
import CSwResample

/// How far a transcode has got, reported about once per second of input audio and at the end.
public struct TranscodeProgress: Sendable, Equatable {
    /// Input samples (per channel) decoded so far.
    public let samplesDone: Int64
    /// The input's sample rate.
    public let sampleRate: Int
    /// The input's duration, when the container says (nil for a WAV from a pipe).
    public let totalSeconds: Double?

    public var secondsDone: Double { Double(samplesDone) / Double(sampleRate) }
    /// 0...1 when the total is known.
    public var fractionDone: Double? {
        guard let totalSeconds, totalSeconds > 0 else { return nil }
        return min(1, secondsDone / totalSeconds)
    }
}

/// Where and how a parallel encode joined two segments.
public struct SegmentJoin: Sendable, Equatable {
    /// The first frame of the later segment, counted in encoder frames from the first audio frame
    /// (the Xing/Info frame not counted).
    public var frame: Int
    /// Bytes by which the later segment's main data had to start later than its encoder put it
    /// (0: it fitted in the earlier segment's free reservoir bytes).
    public var shift: Int
    /// Frames given a higher bitrate index to make room (VBR and ABR; CBR only as a last resort).
    public var enlargedFrames: Int
    /// Both encoders coded the join frame identically, so the join decodes as either encode would.
    public var contentMatches: Bool
}

/// What the input is, as found while opening it.
public struct InputDescription: Sendable, Equatable, Codable {
    /// libavformat's short name: `wav`, `flac`, `mp3`, `ogg`, `aiff`.
    public var container: String
    /// libavcodec's short name: `pcm_s16le`, `pcm_f32le`, `pcm_mulaw`, `flac`.
    public var codec: String
    public var sampleRate: Int
    public var channels: Int
    /// `av_channel_layout_describe`: `mono`, `stereo`, `5.1(side)`; the default layout for the
    /// channel count when the input does not say.
    public var channelLayout: String
    /// The decoder's sample format: `s16`, `s32`, `flt`, `dbl`, `u8`, `fltp` ….
    public var sampleFormat: String
    /// Bits per sample as stored (24 for 24-bit PCM), when known.
    public var bitsPerSample: Int?
}

/// What a finished transcode produced.
public struct TranscodeResult: Sendable, Equatable {
    public var input: InputDescription
    public var outputSampleRate: Int
    public var outputChannels: Int
    /// The sample format the resampler wrote and the encoder took (`s16p`, `s32p`, `fltp`): the
    /// planar format closest to the input's, so there is no conversion step besides the resampler.
    public var outputSampleFormat: String
    public var bitrate: BitrateMode
    /// Samples per channel decoded from the input, at the input rate.
    public var samplesIn: Int64
    /// Samples per channel given to the encoder, at the output rate: exactly what a gapless
    /// decoder returns when the output has its Xing/Info + LAME frame.
    public var samplesOut: Int64
    /// MP3 audio frames written (the Xing/Info frame not counted).
    public var frames: Int64
    /// Bytes the sink received (its final size).
    public var bytesWritten: Int64
    /// Whether the Xing/Info + LAME frame was written (the sink had a rewritable window).
    public var hasGaplessInfo: Bool
    /// The tags written (empty with `writesTags == false`).
    public var tags: Tags
    /// Warnings also given to the warning callback.
    public var warnings: [String]
    /// Segments the input was cut into (1: the serial encode).
    public var segments: Int = 1
    /// Segments encoded at once: `threads`, or fewer when `segmentMemory` could not hold them.
    public var encodersAtOnce: Int = 1
    /// The joins of a parallel encode, in order.
    public var joins: [SegmentJoin] = []

    /// Seconds of audio in the output: `samplesOut / outputSampleRate`.
    public var duration: Double { Double(samplesOut) / Double(outputSampleRate) }
}

/// Decodes anything libavformat reads from a `ByteSource`, converts it with libswresample and
/// encodes it to MP3 with libmp3lame into an `OutputSink`. Synchronous: run it on a thread of its
/// own (it blocks in the source's reads and the sink's writes).
///
/// ```swift
/// let result = try Transcoder(options: EncodingOptions(bitrate: .vbr(quality: 2)))
///     .transcode(from: try FileSource(path: "in.wav"), to: try FileSink(path: "out.mp3"))
/// ```
///
/// On success the sink's `finish()` has been called; on any failure its `abort()` has been called
/// and the error is thrown: a `TranscodeError` (see its `kind`), or the error the caller's own
/// source or sink threw, unchanged.
public struct Transcoder: Sendable {
    public var options: EncodingOptions

    public init(options: EncodingOptions = EncodingOptions()) {
        self.options = options
    }

    /// Transcodes `source` into `sink`.
    /// - Parameters:
    ///   - progress: called about once per second of decoded audio and once at the end.
    ///   - warning: called once per kind of problem the transcode survives (a header that announces
    ///     more data than there is, a truncated last sample, undecodable packets skipped).
    ///   - isCancelled: checked before each packet is read; when it returns true the transcode stops
    ///     with `.cancelled` (set it from a SIGINT handler).
    public func transcode(
        from source: ByteSource, to sink: OutputSink,
        progress: (TranscodeProgress) -> Void = { _ in },
        warning: (String) -> Void = { _ in },
        isCancelled: () -> Bool = { false }
    ) throws -> TranscodeResult {
        do {
            try options.validate()
            let result = try withoutActuallyEscaping(progress) { progress in
                try withoutActuallyEscaping(warning) { warning in
                    try withoutActuallyEscaping(isCancelled) { isCancelled in
                        let session = try TranscodeSession(
                            source: source, sink: sink, options: options,
                            progress: progress, warning: warning, isCancelled: isCancelled)
                        return try session.run()
                    }
                }
            }
            try sink.finish()
            return result
        } catch let error as FFmpegError {
            sink.abort()
            throw TranscodeError(
                .internalFailure, "\(source.name): transcoding failed in \(error.operation)", underlying: error.message)
        } catch {
            sink.abort()
            throw error
        }
    }
}

/// Every FFmpeg object of one transcode, and the loop of `doc/examples/transcode_aac.c`:
/// read a packet, decode it, convert the frames into the FIFO, encode whole encoder frames from
/// the FIFO; at the end drain the decoder and the resampler, encode the remainder, flush the
/// encoder, write the trailer.
private final class TranscodeSession {
    let source: ByteSource
    let options: EncodingOptions
    let progress: (TranscodeProgress) -> Void
    let warning: (String) -> Void
    let isCancelled: () -> Bool

    let demuxer: Demuxer
    let stream: UnsafeMutablePointer<AVStream>
    let decoder: CodecContext
    let encoder: CodecContext
    let muxer: MP3Muxer
    let inputLayout: ChannelLayout
    let outputLayout: ChannelLayout
    var resampler: Resampler?
    let converted: SampleBuffer
    let fifo: AudioFIFO
    let packet: Packet
    let decodedFrame: Frame
    let encoderFrame: Frame
    let encodedPacket: Packet
    /// Set when `options.threads > 1`: frames go to it instead of `encoder`.
    var parallel: ParallelEncoder?
    let frameSize: Int32
    let description: InputDescription
    let tags: Tags
    let totalSeconds: Double?
    /// Samples the header announces (PCM only), to warn when the data ends early.
    let announcedSamples: Int64?
    let blockAlign: Int32

    var samplesIn: Int64 = 0
    /// Bytes of PCM data the demuxer delivered (to compare with what the header announces).
    var pcmBytes: Int64 = 0
    var samplesOut: Int64 = 0
    var frames: Int64 = 0
    var nextProgress: Int64 = 0
    var warnings: [String] = []
    var warned: Set<String> = []

    init(
        source: ByteSource, sink: OutputSink, options: EncodingOptions,
        progress: @escaping (TranscodeProgress) -> Void, warning: @escaping (String) -> Void,
        isCancelled: @escaping () -> Bool
    ) throws {
        self.source = source
        self.options = options
        self.progress = progress
        self.warning = warning
        self.isCancelled = isCancelled

        demuxer = try Demuxer(source: source)
        stream = try demuxer.audioStream()
        decoder = try Self.openDecoder(for: stream, of: source)
        let input = Self.describeInput(demuxer: demuxer, stream: stream, decoder: decoder)
        description = input.description
        inputLayout = input.layout
        (encoder, outputLayout) = try Self.openEncoder(options: options, input: input, of: source)
        frameSize = encoder.pointer.pointee.frame_size > 0 ? encoder.pointer.pointee.frame_size : 1152

        // Tags: the input's, overridden by explicit options.
        if options.writesTags {
            let inputTags =
                options.copiesInputTags ? Tags(metadata: metadata(of: demuxer.format, stream: stream)) : Tags()
            tags = inputTags.overridden(by: options.tags)
        } else {
            tags = Tags()
        }
        muxer = try Self.makeMuxer(
            sink: sink, encoder: encoder, metadata: options.writesTags ? tags.metadata : nil, of: source)

        // The FIFO between the resampler and the encoder's fixed frame size, and the reused frames.
        let outputFormat = encoder.pointer.pointee.sample_fmt
        converted = SampleBuffer(format: outputFormat, channels: outputLayout.channels)
        fifo = try AudioFIFO(format: outputFormat, channels: outputLayout.channels, capacity: frameSize * 4)
        packet = try Packet()
        encodedPacket = try Packet()
        decodedFrame = try Frame()
        encoderFrame = try Frame()
        let frame = encoderFrame.pointer
        frame.pointee.nb_samples = frameSize
        frame.pointee.format = outputFormat.rawValue
        frame.pointee.sample_rate = encoder.pointer.pointee.sample_rate
        try check(av_channel_layout_copy(&frame.pointee.ch_layout, &outputLayout.layout), "av_channel_layout_copy")
        try check(av_frame_get_buffer(frame, 0), "av_frame_get_buffer")

        totalSeconds = demuxer.duration(of: stream)
        // Plain fixed-width PCM (not pcm_dvd or pcm_bluray, whose packets carry headers): every
        // packet is whole blocks unless the data was cut short.
        let parameters = stream.pointee.codecpar!
        let streamDuration = stream.pointee.duration
        let isPCM =
            (0x10000..<0x11000).contains(Int(parameters.pointee.codec_id.rawValue))
            && av_get_exact_bits_per_sample(parameters.pointee.codec_id) > 0
        if isPCM && streamDuration != s3t_av_nopts_value() && streamDuration > 0 {
            announcedSamples = av_rescale_q(
                streamDuration, stream.pointee.time_base, AVRational(num: 1, den: Int32(description.sampleRate)))
        } else {
            announcedSamples = nil
        }
        blockAlign = isPCM ? parameters.pointee.block_align : 0
        if options.threads > 1 {
            parallel = makeParallelEncoder(input: input, source: source)
        }
    }

    /// The parallel encoder: each segment's encoder opened as `encoder` was, its frames muxed here.
    private func makeParallelEncoder(
        input: (description: InputDescription, layout: ChannelLayout, sampleFormat: AVSampleFormat),
        source: ByteSource
    ) -> ParallelEncoder {
        let options = options
        var isVariable = true
        if case .cbr = options.bitrate { isVariable = false }
        return ParallelEncoder(
            plan: SegmentPlan(length: options.segmentFrames ?? SegmentPlan.defaultLength),
            threads: options.threads, memory: options.segmentMemory, frameSize: frameSize, mayEnlarge: isVariable,
            makeEncoder: { try Self.openEncoder(options: options, input: input, of: source).encoder },
            writeFrame: { [unowned self] frame in
                try frame.fill(encodedPacket.pointer)
                try mux(encodedPacket.pointer)
            },
            isCancelled: isCancelled, name: source.name)
    }

    /// Finds and opens the decoder for `stream` (`open_input_file` in `transcode_aac.c`), after
    /// checking that its header describes audio at all.
    static func openDecoder(for stream: UnsafeMutablePointer<AVStream>, of source: ByteSource) throws -> CodecContext {
        let parameters = stream.pointee.codecpar!
        guard parameters.pointee.ch_layout.nb_channels > 0 else {
            throw Demuxer.notAudio(source, "its header says it has zero channels", 0)
        }
        guard parameters.pointee.sample_rate > 0 else {
            throw Demuxer.notAudio(source, "its header gives no sample rate", 0)
        }
        try checkSampleRate(Int(parameters.pointee.sample_rate), of: source)
        guard let codec = avcodec_find_decoder(parameters.pointee.codec_id) else {
            let codecName = String(cString: avcodec_get_name(parameters.pointee.codec_id))
            throw Demuxer.notAudio(source, "unsupported codec \(codecName)", 0)
        }
        let decoder = try CodecContext(codec: codec)
        try check(avcodec_parameters_to_context(decoder.pointer, parameters), "avcodec_parameters_to_context")
        decoder.pointer.pointee.pkt_timebase = stream.pointee.time_base
        let opened = avcodec_open2(decoder.pointer, codec, nil)
        guard opened >= 0 else {
            throw Demuxer.notAudio(source, "the \(String(cString: codec.pointee.name)) decoder refused it", opened)
        }
        return decoder
    }

    /// What the opened decoder will deliver: the input's description, its channel layout (the
    /// default one for the count when the input does not say) and its sample format.
    static func describeInput(demuxer: Demuxer, stream: UnsafeMutablePointer<AVStream>, decoder: CodecContext)
        -> (description: InputDescription, layout: ChannelLayout, sampleFormat: AVSampleFormat)
    {
        let parameters = stream.pointee.codecpar!
        let layout = ChannelLayout(
            declared: decoder.pointer.pointee.ch_layout, channels: parameters.pointee.ch_layout.nb_channels)
        var sampleFormat = decoder.pointer.pointee.sample_fmt
        if sampleFormat == AV_SAMPLE_FMT_NONE { sampleFormat = AVSampleFormat(parameters.pointee.format) }
        let rate =
            decoder.pointer.pointee.sample_rate > 0
            ? decoder.pointer.pointee.sample_rate : parameters.pointee.sample_rate
        let bits =
            parameters.pointee.bits_per_raw_sample > 0
            ? parameters.pointee.bits_per_raw_sample : parameters.pointee.bits_per_coded_sample
        let description = InputDescription(
            container: demuxer.containerName,
            codec: String(cString: avcodec_get_name(parameters.pointee.codec_id)),
            sampleRate: Int(rate),
            channels: Int(parameters.pointee.ch_layout.nb_channels),
            channelLayout: layout.name,
            sampleFormat: av_get_sample_fmt_name(sampleFormat).map { String(cString: $0) } ?? "unknown",
            bitsPerSample: bits > 0 ? Int(bits) : nil)
        return (description, layout, sampleFormat)
    }

    /// Opens libmp3lame (`open_output_file` in `transcode_aac.c`): a legal MP3 rate, 1 or 2
    /// channels, the sample format closest to the input's, and the bitrate mode of `options`.
    static func openEncoder(
        options: EncodingOptions,
        input: (description: InputDescription, layout: ChannelLayout, sampleFormat: AVSampleFormat),
        of source: ByteSource
    ) throws -> (encoder: CodecContext, layout: ChannelLayout) {
        guard let mp3 = avcodec_find_encoder_by_name("libmp3lame") else {
            throw TranscodeError(
                .encoderUnavailable,
                "\(source.name): this FFmpeg has no libmp3lame encoder; install one built with --enable-libmp3lame")
        }
        let outputRate = MP3SampleRate.legal(for: options.sampleRate ?? input.description.sampleRate)
        let outputChannels = Int32(options.channels ?? (input.description.channels == 1 ? 1 : 2))
        let layout = ChannelLayout(defaultFor: outputChannels)
        let encoder = try CodecContext(codec: mp3)
        let context = encoder.pointer
        context.pointee.sample_rate = Int32(outputRate)
        context.pointee.sample_fmt = encoderFormat(for: input.sampleFormat, supported: mp3.pointee.sample_fmts)
        context.pointee.time_base = AVRational(num: 1, den: Int32(outputRate))
        try check(av_channel_layout_copy(&context.pointee.ch_layout, &layout.layout), "av_channel_layout_copy")
        switch options.bitrate {
        case .cbr(let kbps):
            context.pointee.bit_rate = Int64(kbps) * 1000
        case .abr(let kbps):
            context.pointee.bit_rate = Int64(kbps) * 1000
            av_opt_set_int(context.pointee.priv_data, "abr", 1, 0)
        case .vbr(let quality):
            context.pointee.flags |= AV_CODEC_FLAG_QSCALE
            context.pointee.global_quality = Int32(quality) * FF_QP2LAMBDA
        }
        if let quality = options.algorithmQuality { context.pointee.compression_level = Int32(quality) }
        let opened = avcodec_open2(context, mp3, nil)
        guard opened >= 0 else {
            throw TranscodeError(
                .invalidOptions,
                "\(source.name): libmp3lame refused \(options.bitrate) at \(outputRate) Hz, \(outputChannels) channels; try another bitrate",
                underlying: FFmpegError.text(for: opened))
        }
        return (encoder, layout)
    }

    /// The mp3 muxer over `sink`, its header written (ID3v2 tag with `metadata`, nil for none).
    static func makeMuxer(
        sink: OutputSink, encoder: CodecContext, metadata: [(key: String, value: String)]?,
        of source: ByteSource
    ) throws -> MP3Muxer {
        do {
            return try MP3Muxer(sink: sink, encoder: encoder, metadata: metadata)
        } catch let error as FFmpegError {
            throw TranscodeError(
                .writeFailed, "\(source.name): writing the MP3 header failed", underlying: error.description)
        }
    }

    /// The encoder format ffmpeg's format negotiation would pick: the planar format of the same
    /// kind and width (s16 and u8 to s16p, s32 and s64 to s32p, float and double to fltp).
    static func encoderFormat(for input: AVSampleFormat, supported: UnsafePointer<AVSampleFormat>?) -> AVSampleFormat {
        var formats: [AVSampleFormat] = []
        if var pointer = supported {
            while pointer.pointee != AV_SAMPLE_FMT_NONE {
                formats.append(pointer.pointee)
                pointer += 1
            }
        }
        let packed = av_get_packed_sample_fmt(input)
        let wanted: [AVSampleFormat]
        switch packed {
        case AV_SAMPLE_FMT_U8, AV_SAMPLE_FMT_S16: wanted = [AV_SAMPLE_FMT_S16P, AV_SAMPLE_FMT_S32P, AV_SAMPLE_FMT_FLTP]
        case AV_SAMPLE_FMT_S32, AV_SAMPLE_FMT_S64:
            wanted = [AV_SAMPLE_FMT_S32P, AV_SAMPLE_FMT_FLTP, AV_SAMPLE_FMT_S16P]
        default: wanted = [AV_SAMPLE_FMT_FLTP, AV_SAMPLE_FMT_S32P, AV_SAMPLE_FMT_S16P]
        }
        return wanted.first(where: formats.contains) ?? formats.first ?? AV_SAMPLE_FMT_FLTP
    }

    func run() throws -> TranscodeResult {
        let audioIndex = stream.pointee.index
        let pointer = packet.pointer
        while true {
            if isCancelled() {
                throw TranscodeError(.cancelled, "\(source.name): transcode cancelled")
            }
            let read = av_read_frame(demuxer.format, pointer)
            if let error = demuxer.callbacks.error { throw error }
            if read < 0 {
                if read != s3t_averror_eof() {
                    warnOnce(
                        "read",
                        "\(source.name): the input data ends with an error (\(FFmpegError.text(for: read))); transcoded what was readable"
                    )
                }
                break
            }
            defer { av_packet_unref(pointer) }
            guard pointer.pointee.stream_index == audioIndex else { continue }
            if blockAlign > 0 {
                pcmBytes += Int64(pointer.pointee.size)
                let partial = pointer.pointee.size % blockAlign
                if partial != 0 {
                    // A truncated last sample: drop the partial bytes, as the PCM decoder would
                    // (it rejects a packet holding nothing else).
                    warnOnce(
                        "truncated",
                        "\(source.name): the audio data ends in a truncated sample; transcoded what is there")
                    pointer.pointee.size -= partial
                    if pointer.pointee.size == 0 { continue }
                }
            }
            try decode(pointer)
        }
        try decode(nil)
        guard samplesIn > 0 else {
            throw Demuxer.notAudio(source, "it contains no audio samples", 0)
        }
        if let announcedSamples, samplesIn < announcedSamples {
            warnOnce(
                "truncated",
                "\(source.name): the header announces \(announcedSamples) samples but the data ends after \(samplesIn); transcoded what is there"
            )
        }
        if blockAlign > 0, description.container == "wav",
            let announced = AnnouncedWAVData(head: demuxer.callbacks.head),
            pcmBytes < announced.size
        {
            warnOnce(
                "truncated",
                "\(source.name): the header announces \(announced.size) bytes of audio but the file ends after \(pcmBytes); transcoded what is there"
            )
        }
        try drainResampler()
        while fifo.count > 0 { try encodeFromFIFO(min(fifo.count, frameSize)) }
        if let parallel {
            try parallel.finish()
            frames = parallel.framesWritten
        } else {
            try encode(nil)
        }
        do {
            try muxer.finish()
        } catch let error as FFmpegError {
            throw TranscodeError(
                .writeFailed, "\(source.name): writing the MP3 trailer failed", underlying: error.description)
        }
        progress(
            TranscodeProgress(samplesDone: samplesIn, sampleRate: description.sampleRate, totalSeconds: totalSeconds))
        return TranscodeResult(
            input: description,
            outputSampleRate: Int(encoder.pointer.pointee.sample_rate),
            outputChannels: Int(outputLayout.channels),
            outputSampleFormat: av_get_sample_fmt_name(encoder.pointer.pointee.sample_fmt).map { String(cString: $0) }
                ?? "unknown",
            bitrate: options.bitrate,
            samplesIn: samplesIn, samplesOut: samplesOut, frames: frames,
            bytesWritten: muxer.callbacks.bytesWritten,
            hasGaplessInfo: muxer.callbacks.sink.rewritableWindow != nil,
            tags: tags, warnings: warnings, segments: parallel?.segments ?? 1, encodersAtOnce: parallel?.inFlight ?? 1,
            joins: parallel?.joins ?? [])
    }

    private func warnOnce(_ key: String, _ message: String) {
        guard warned.insert(key).inserted else { return }
        warnings.append(message)
        warning(message)
    }

    /// Sends one packet (nil: drain) and converts every frame it yields. A packet the decoder
    /// rejects is skipped with a warning, as ffmpeg does.
    private func decode(_ packet: UnsafeMutablePointer<AVPacket>?) throws {
        var pending = true
        while pending {
            do {
                pending = try decoder.send(packet) == .needsInput
            } catch {
                warnOnce("decode", "\(source.name): skipped audio data the decoder rejected (\(error.message))")
                pending = false
            }
            receiving: while true {
                let step: CodecStep
                do {
                    step = try decoder.receive(decodedFrame.pointer)
                } catch {
                    warnOnce("decode", "\(source.name): skipped audio data the decoder rejected (\(error.message))")
                    break receiving
                }
                guard step == .produced else { break receiving }
                try convert(decodedFrame.pointer)
                av_frame_unref(decodedFrame.pointer)
            }
        }
    }

    /// The input rates taken: 1 kHz to 768 kHz, the range any audio format or converter uses.
    /// Beyond either end is a corrupt header, and an expensive one (both found by `Scripts/fuzz.sh`):
    /// - libswresample's filter bank grows with the input-to-output ratio: a header claiming 100 MHz
    ///   made it allocate about 500 MB and spend seconds of CPU on a 2 KB file;
    /// - MP3's lowest rate is 8 kHz, so a 2 Hz input is upsampled 4000 times: a 1.3 KB file became
    ///   a 4 MB MP3, and a 1 MB one would take CPU-hours.
    static let sampleRates = 1_000...768_000

    static func checkSampleRate(_ rate: Int, of source: ByteSource) throws {
        guard sampleRates.contains(rate) else {
            throw Demuxer.notAudio(
                source,
                "its sample rate of \(rate) Hz is not one audio uses (\(sampleRates.lowerBound)…\(sampleRates.upperBound))",
                0)
        }
    }

    /// The resampler for this frame's format, rate and channel count (made on the first frame,
    /// remade if they change mid-stream).
    private func resampler(for frame: UnsafeMutablePointer<AVFrame>) throws -> Resampler {
        let format = AVSampleFormat(frame.pointee.format)
        let rate = frame.pointee.sample_rate
        let channels = frame.pointee.ch_layout.nb_channels
        try Self.checkSampleRate(Int(rate), of: source)
        if let resampler, resampler.input.format == format, resampler.input.rate == rate,
            resampler.input.layout.channels == channels
        {
            return resampler
        }
        let layout =
            channels == inputLayout.channels
            ? inputLayout
            : frame.pointee.ch_layout.order == AV_CHANNEL_ORDER_UNSPEC
                ? ChannelLayout(defaultFor: channels)
                : withUnsafePointer(to: frame.pointee.ch_layout) { ChannelLayout(copying: $0) }
        let input = (format, rate, layout)
        let output = (encoder.pointer.pointee.sample_fmt, encoder.pointer.pointee.sample_rate, outputLayout)
        let made: Resampler
        do {
            made = try Resampler(from: input, to: output)
        } catch {
            // A layout libswresample has no downmix rule for (a side left without a side right…).
            do {
                made = try Resampler(from: input, to: output, evenMix: true)
                warnOnce(
                    "mix",
                    "\(source.name): no standard downmix for \(layout.name); mixed its channels evenly to \(outputLayout.name)"
                )
            } catch {
                throw Demuxer.notAudio(
                    source, "its \(layout.name) audio cannot be mixed to \(outputLayout.name)", error.code)
            }
        }
        resampler = made
        return made
    }

    private func convert(_ frame: UnsafeMutablePointer<AVFrame>) throws {
        let count = frame.pointee.nb_samples
        guard count > 0 else { return }
        let resampler = try resampler(for: frame)
        let bound = resampler.outputBound(forInput: count)
        try converted.reserve(bound)
        let input = UnsafeMutableRawPointer(frame.pointee.extended_data!).assumingMemoryBound(
            to: UnsafePointer<UInt8>?.self)
        let produced = try resampler.convert(input, count: count, into: converted.planes, capacity: converted.capacity)
        try fifo.write(converted.rawPlanes, count: produced)
        samplesIn += Int64(count)
        while fifo.count >= frameSize { try encodeFromFIFO(frameSize) }
        if samplesIn >= nextProgress {
            nextProgress = samplesIn + Int64(description.sampleRate)
            progress(
                TranscodeProgress(
                    samplesDone: samplesIn, sampleRate: description.sampleRate, totalSeconds: totalSeconds))
        }
    }

    /// The samples the resampler still holds (its filter delay) at the end of input.
    private func drainResampler() throws {
        guard let resampler else { return }
        while true {
            try converted.reserve(max(resampler.outputBound(forInput: 0), frameSize))
            let produced = try resampler.convert(nil, count: 0, into: converted.planes, capacity: converted.capacity)
            guard produced > 0 else { return }
            try fifo.write(converted.rawPlanes, count: produced)
        }
    }

    private func encodeFromFIFO(_ count: Int32) throws {
        let frame = encoderFrame.pointer
        frame.pointee.nb_samples = frameSize
        try check(av_frame_make_writable(frame), "av_frame_make_writable")
        let got = try fifo.read(into: encoderFrame.planes, count: count)
        if encoder.pointer.pointee.sample_fmt == AV_SAMPLE_FMT_FLTP { clipFloatSamples(frame, count: got) }
        frame.pointee.nb_samples = got
        frame.pointee.pts = samplesOut
        samplesOut += Int64(got)
        if let parallel {
            try parallel.add(frame)
        } else {
            try encode(frame)
        }
    }

    /// Float samples from a corrupt or hostile input can be NaN, infinite or huge, and LAME aborts
    /// the process on those (an assertion in its quantiser). Non-finite samples become silence and
    /// the rest is clipped to full scale, as any integer output would clip it.
    private func clipFloatSamples(_ frame: UnsafeMutablePointer<AVFrame>, count: Int32) {
        for channel in 0..<Int(frame.pointee.ch_layout.nb_channels) {
            guard let plane = frame.pointee.extended_data[channel] else { continue }
            let samples = UnsafeMutableRawPointer(plane).assumingMemoryBound(to: Float.self)
            for index in 0..<Int(count) {
                let value = samples[index]
                samples[index] = value.isFinite ? min(max(value, -1), 1) : 0
            }
        }
    }

    /// Sends one frame (nil: flush) and muxes every packet the encoder has ready.
    private func encode(_ frame: UnsafeMutablePointer<AVFrame>?) throws {
        try encoder.encode(frame, into: encodedPacket.pointer) { packet in
            try mux(packet)
            frames += 1
        }
    }

    private func mux(_ packet: UnsafeMutablePointer<AVPacket>) throws {
        do {
            try muxer.write(packet, timeBase: encoder.pointer.pointee.time_base)
        } catch let error as FFmpegError {
            throw TranscodeError(.writeFailed, "\(source.name): writing the MP3 failed", underlying: error.description)
        }
    }
}
