import CAVCodec
import CAVFormat
import CAVUtil
import CSwResample

// One owner per C pointer: each class below owns exactly one FFmpeg object and frees it in deinit.

/// An `AVFrame`, reused for every decoded or encoded frame (no per-frame allocation).
final class Frame {
    let pointer: UnsafeMutablePointer<AVFrame>

    init() throws(FFmpegError) {
        guard let frame = av_frame_alloc() else {
            throw FFmpegError(code: s3t_averror_enomem(), operation: "av_frame_alloc")
        }
        pointer = frame
    }

    deinit {
        var frame: UnsafeMutablePointer<AVFrame>? = pointer
        av_frame_free(&frame)
    }

    /// The plane pointers, typed as the `void **` the FIFO and resampler calls take.
    var planes: UnsafeMutablePointer<UnsafeMutableRawPointer?> {
        UnsafeMutableRawPointer(pointer.pointee.extended_data!).assumingMemoryBound(to: UnsafeMutableRawPointer?.self)
    }
}

/// An `AVPacket`, reused for every packet read or encoded.
final class Packet {
    let pointer: UnsafeMutablePointer<AVPacket>

    init() throws(FFmpegError) {
        guard let packet = av_packet_alloc() else {
            throw FFmpegError(code: s3t_averror_enomem(), operation: "av_packet_alloc")
        }
        pointer = packet
    }

    deinit {
        var packet: UnsafeMutablePointer<AVPacket>? = pointer
        av_packet_free(&packet)
    }
}

/// What one step of a send/receive loop gave: `AVERROR(EAGAIN)` and `AVERROR_EOF` are states.
enum CodecStep {
    case produced
    case needsInput
    case endOfStream
}

/// An opened `AVCodecContext`, decoder or encoder.
final class CodecContext {
    let pointer: UnsafeMutablePointer<AVCodecContext>

    init(codec: UnsafePointer<AVCodec>) throws(FFmpegError) {
        guard let context = avcodec_alloc_context3(codec) else {
            throw FFmpegError(code: s3t_averror_enomem(), operation: "avcodec_alloc_context3")
        }
        pointer = context
    }

    deinit {
        var context: UnsafeMutablePointer<AVCodecContext>? = pointer
        avcodec_free_context(&context)
    }

    /// Sends a packet to a decoder (nil: drain). `.needsInput` here means "receive first".
    func send(_ packet: UnsafeMutablePointer<AVPacket>?) throws(FFmpegError) -> CodecStep {
        try step(avcodec_send_packet(pointer, packet), "avcodec_send_packet")
    }

    func receive(_ frame: UnsafeMutablePointer<AVFrame>) throws(FFmpegError) -> CodecStep {
        try step(avcodec_receive_frame(pointer, frame), "avcodec_receive_frame")
    }

    /// Sends a frame to an encoder (nil: flush).
    func send(_ frame: UnsafeMutablePointer<AVFrame>?) throws(FFmpegError) -> CodecStep {
        try step(avcodec_send_frame(pointer, frame), "avcodec_send_frame")
    }

    func receive(_ packet: UnsafeMutablePointer<AVPacket>) throws(FFmpegError) -> CodecStep {
        try step(avcodec_receive_packet(pointer, packet), "avcodec_receive_packet")
    }

    /// Encodes `frame` (nil: flush): sends it, handing every packet the encoder has ready to `take`
    /// (which owns it: mux it, or copy and unref it) until the encoder has taken the frame.
    func encode(
        _ frame: UnsafeMutablePointer<AVFrame>?, into packet: UnsafeMutablePointer<AVPacket>,
        _ take: (UnsafeMutablePointer<AVPacket>) throws -> Void
    ) throws {
        var pending = true
        while pending {
            pending = try send(frame) == .needsInput
            while try receive(packet) == .produced { try take(packet) }
        }
    }

    private func step(_ code: Int32, _ operation: String) throws(FFmpegError) -> CodecStep {
        if code >= 0 { return .produced }
        if code == s3t_averror_eagain() { return .needsInput }
        if code == s3t_averror_eof() { return .endOfStream }
        throw FFmpegError(code: code, operation: operation)
    }
}

/// An `AVChannelLayout` value this code owns (uninit on deinit).
final class ChannelLayout {
    var layout = AVChannelLayout()

    init(copying other: UnsafePointer<AVChannelLayout>) {
        av_channel_layout_copy(&layout, other)
    }

    /// The native layout for `channels` (mono, stereo, 2.1, quad, 5.0, 5.1, 6.1, 7.1, …) when the
    /// input did not say which speakers its channels are for. Counts FFmpeg has no default for
    /// (9 to 15 channels, for instance) get the first speakers in WAVEFORMATEX order (FL FR FC LFE
    /// BL BR FLC FRC BC SL SR TC …), the order a WAV without a channel mask implies.
    init(defaultFor channels: Int32) {
        av_channel_layout_default(&layout, channels)
        if layout.order == AV_CHANNEL_ORDER_UNSPEC && channels > 0 && channels < 64 {
            av_channel_layout_uninit(&layout)
            av_channel_layout_from_mask(&layout, (UInt64(1) << UInt64(channels)) - 1)
        }
    }

    /// The layout an input declares, or the default one for `channels` when it declares none
    /// (a WAV without a channel mask).
    convenience init(declared: AVChannelLayout, channels: Int32) {
        var declared = declared
        if declared.order == AV_CHANNEL_ORDER_UNSPEC || declared.nb_channels == 0 {
            self.init(defaultFor: channels)
        } else {
            self.init(copying: &declared)
        }
    }

    deinit { av_channel_layout_uninit(&layout) }

    var channels: Int32 { layout.nb_channels }

    /// `av_channel_layout_describe`: "stereo", "5.1(side)", "4 channels".
    var name: String { ChannelLayout.describe(&layout) }

    static func describe(_ layout: UnsafePointer<AVChannelLayout>) -> String {
        var buffer = [CChar](repeating: 0, count: 128)
        guard av_channel_layout_describe(layout, &buffer, buffer.count) >= 0 else {
            return "\(layout.pointee.nb_channels) channels"
        }
        return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// A `SwrContext`: converts decoded frames to the encoder's rate, layout (downmixing with the
/// proper matrix) and native sample format in one step.
final class Resampler {
    let pointer: OpaquePointer
    let input: (format: AVSampleFormat, rate: Int32, layout: ChannelLayout)

    /// With `evenMix`, the automatic matrix for the layouts is replaced by an equal-weight one
    /// (input channel i to output channel i mod 2, or all to mono): for layouts libswresample
    /// cannot downmix by itself.
    init(
        from input: (format: AVSampleFormat, rate: Int32, layout: ChannelLayout),
        to output: (format: AVSampleFormat, rate: Int32, layout: ChannelLayout), evenMix: Bool = false
    ) throws(FFmpegError) {
        var context: OpaquePointer?
        try check(
            swr_alloc_set_opts2(
                &context, &output.layout.layout, output.format, output.rate,
                &input.layout.layout, input.format, input.rate, 0, nil), "swr_alloc_set_opts2")
        guard let context else { throw FFmpegError(code: s3t_averror_enomem(), operation: "swr_alloc_set_opts2") }
        pointer = context
        self.input = input
        if evenMix {
            let ins = Int(input.layout.channels)
            let outs = Int(output.layout.channels)
            var matrix = [Double](repeating: 0, count: ins * outs)
            for i in 0..<ins {
                let o = i % outs
                let sharing = (ins - o + outs - 1) / outs  // input channels feeding output o
                matrix[o * ins + i] = 1 / Double(sharing)
            }
            try check(swr_set_matrix(context, matrix, Int32(ins)), "swr_set_matrix")
        }
        try check(swr_init(context), "swr_init")
    }

    deinit {
        var context: OpaquePointer? = pointer
        swr_free(&context)
    }

    /// An upper bound of the output samples for `count` more input samples.
    func outputBound(forInput count: Int32) -> Int32 { swr_get_out_samples(pointer, count) }

    /// Converts `count` input samples (nil: flush) into `output`; returns the samples written.
    func convert(
        _ input: UnsafeMutablePointer<UnsafePointer<UInt8>?>?, count: Int32,
        into output: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>, capacity: Int32
    ) throws(FFmpegError) -> Int32 {
        try check(swr_convert(pointer, output, capacity, input, count), "swr_convert")
    }
}

/// An `AVAudioFifo` between the resampler and the encoder's fixed frame size.
final class AudioFIFO {
    let pointer: OpaquePointer

    init(format: AVSampleFormat, channels: Int32, capacity: Int32) throws(FFmpegError) {
        guard let fifo = av_audio_fifo_alloc(format, channels, capacity) else {
            throw FFmpegError(code: s3t_averror_enomem(), operation: "av_audio_fifo_alloc")
        }
        pointer = fifo
    }

    deinit { av_audio_fifo_free(pointer) }

    var count: Int32 { av_audio_fifo_size(pointer) }

    func write(_ planes: UnsafeMutablePointer<UnsafeMutableRawPointer?>, count: Int32) throws(FFmpegError) {
        guard count > 0 else { return }
        let written = try check(av_audio_fifo_write(pointer, planes, count), "av_audio_fifo_write")
        if written < count { throw FFmpegError(code: s3t_averror_enomem(), operation: "av_audio_fifo_write") }
    }

    func read(into planes: UnsafeMutablePointer<UnsafeMutableRawPointer?>, count: Int32) throws(FFmpegError) -> Int32 {
        try check(av_audio_fifo_read(pointer, planes, count), "av_audio_fifo_read")
    }
}

/// Planar sample buffers the resampler writes into; grown when a frame needs more, never shrunk.
final class SampleBuffer {
    private(set) var planes: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>
    private(set) var capacity: Int32 = 0
    let format: AVSampleFormat
    let channels: Int32

    init(format: AVSampleFormat, channels: Int32) {
        self.format = format
        self.channels = channels
        planes = .allocate(capacity: Int(channels))
        planes.initialize(repeating: nil, count: Int(channels))
    }

    deinit {
        av_freep(planes)
        planes.deallocate()
    }

    func reserve(_ samples: Int32) throws(FFmpegError) {
        guard samples > capacity else { return }
        av_freep(planes)
        let size = max(samples, capacity * 2)
        try check(av_samples_alloc(planes, nil, channels, size, format, 0), "av_samples_alloc")
        capacity = size
    }

    var rawPlanes: UnsafeMutablePointer<UnsafeMutableRawPointer?> {
        UnsafeMutableRawPointer(planes).assumingMemoryBound(to: UnsafeMutableRawPointer?.self)
    }
}

/// A demuxer over a `ByteSource` through a custom read AVIOContext: files, standard input and S3
/// objects all come through here.
final class Demuxer {
    let format: UnsafeMutablePointer<AVFormatContext>
    let callbacks: SourceCallbacks
    private let io: CustomIOContext

    /// Opens and probes the input and reads stream information. Source errors are rethrown as
    /// thrown by the source; FFmpeg's refusals are `.notAudio`.
    init(source: ByteSource) throws {
        _ = FFmpegAllocationLimit.installed
        callbacks = SourceCallbacks(source: source)
        io = try CustomIOContext(reading: callbacks)
        guard let allocated = avformat_alloc_context() else {
            throw FFmpegError(code: s3t_averror_enomem(), operation: "avformat_alloc_context")
        }
        allocated.pointee.pb = io.context
        allocated.pointee.flags |= s3t_avfmt_flag_custom_io()
        var context: UnsafeMutablePointer<AVFormatContext>? = allocated
        let opened = avformat_open_input(&context, nil, nil, nil)  // frees the context on failure
        if let error = callbacks.error {
            // The open may have succeeded despite the source's error (a failed seek past the data
            // chunk ends the WAV demuxer's scan, not its open): nothing owns the context yet.
            avformat_close_input(&context)
            throw error
        }
        guard opened >= 0, let context else {
            throw Demuxer.notAudio(
                source, source.size == 0 ? "the file is empty" : "not a recognised audio format", opened)
        }
        format = context
        let found = avformat_find_stream_info(context, nil)
        if let error = callbacks.error { throw error }
        if found < 0 { throw Demuxer.notAudio(source, "cannot read its stream information", found) }
    }

    deinit {
        var context: UnsafeMutablePointer<AVFormatContext>? = format
        avformat_close_input(&context)  // leaves the custom pb alone; `io` frees it after this
    }

    var containerName: String { String(cString: format.pointee.iformat.pointee.name) }

    var containerLongName: String? { format.pointee.iformat.pointee.long_name.map { String(cString: $0) } }

    /// Seconds of audio, when the container or else the stream says.
    func duration(of stream: UnsafeMutablePointer<AVStream>) -> Double? {
        if format.pointee.duration != s3t_av_nopts_value() && format.pointee.duration > 0 {
            return Double(format.pointee.duration) / Double(AV_TIME_BASE)
        }
        if stream.pointee.duration != s3t_av_nopts_value() && stream.pointee.duration > 0 {
            return Double(stream.pointee.duration) * av_q2d(stream.pointee.time_base)
        }
        return nil
    }

    /// The best audio stream, or `.notAudio`.
    func audioStream() throws -> UnsafeMutablePointer<AVStream> {
        let index = av_find_best_stream(format, AVMEDIA_TYPE_AUDIO, -1, -1, nil, 0)
        guard index >= 0, let stream = format.pointee.streams[Int(index)] else {
            throw TranscodeError(
                .notAudio,
                "\(callbacks.source.name): not decodable audio: no audio stream; give a WAV, FLAC, MP3, Ogg or other audio file"
            )
        }
        return stream
    }

    static func notAudio(_ source: ByteSource, _ reason: String, _ code: Int32) -> TranscodeError {
        TranscodeError(
            .notAudio, "\(source.name): not decodable audio: \(reason); give a WAV, FLAC, MP3, Ogg or other audio file",
            underlying: code < 0 ? FFmpegError.text(for: code) : nil)
    }
}

/// The largest single allocation FFmpeg may make in this process: 32 MiB (FFmpeg's default is
/// INT_MAX), set once before the first input is opened.
///
/// Found by `Scripts/fuzz.sh`: libavformat's RIFF INFO reader checks a sub-chunk's size against the
/// LIST chunk's declared end, never the file's, and zero-fills a buffer that size; a 93-byte WAV
/// claiming a 1 GB INFO entry took 1.4 GB of RSS before failing. With the limit the allocation fails
/// and the input is refused as not audio. Nothing legitimate on our path comes near it: frames and
/// packets are kilobytes, libswresample's largest filter bank (768 kHz in) a few MB, and a FLAC
/// picture block at most 16 MiB (an ID3v2 picture past the limit is skipped, not fatal).
enum FFmpegAllocationLimit {
    static let bytes = 32 << 20
    static let installed: Void = av_max_alloc(bytes)
}

/// Input metadata as a plain dictionary: the container's, then the stream's for keys it lacks
/// (Ogg and FLAC keep Vorbis comments on the stream). Keys are FFmpeg's lower-case names.
func metadata(of format: UnsafeMutablePointer<AVFormatContext>, stream: UnsafeMutablePointer<AVStream>?) -> [String:
    String]
{
    var result: [String: String] = [:]
    for dictionary in [format.pointee.metadata, stream?.pointee.metadata] {
        var entry: UnsafeMutablePointer<AVDictionaryEntry>? = nil
        while let next = av_dict_get(dictionary, "", entry, AV_DICT_IGNORE_SUFFIX) {
            let key = String(cString: next.pointee.key).lowercased()
            if result[key] == nil { result[key] = String(cString: next.pointee.value) }
            entry = next
        }
    }
    return result
}
