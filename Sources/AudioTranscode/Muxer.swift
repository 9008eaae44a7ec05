import CAVCodec
import CAVFormat
import CAVUtil

/// The mp3 muxer writing through a custom write AVIOContext into an `OutputSink`. The context is
/// seekable exactly when the sink has a rewritable window; the muxer then writes the Xing/Info +
/// LAME frame itself and fills it in at the trailer by seeking back to it (`libavformat/mp3enc.c`).
final class MP3Muxer {
    let format: UnsafeMutablePointer<AVFormatContext>
    let stream: UnsafeMutablePointer<AVStream>
    let callbacks: SinkCallbacks
    private let io: CustomIOContext

    /// Writes the header (ID3v2 tag with `metadata`, then the Xing/Info placeholder). `metadata`
    /// nil: no ID3v2 tag at all.
    init(sink: OutputSink, encoder: CodecContext, metadata: [(key: String, value: String)]?) throws {
        callbacks = SinkCallbacks(sink: sink)
        io = try CustomIOContext(writing: callbacks)
        var context: UnsafeMutablePointer<AVFormatContext>?
        try check(avformat_alloc_output_context2(&context, nil, "mp3", nil), "avformat_alloc_output_context2")
        guard let context else {
            throw FFmpegError(code: s3t_averror_enomem(), operation: "avformat_alloc_output_context2")
        }
        guard let stream = avformat_new_stream(context, nil) else {
            avformat_free_context(context)  // deinit cannot: `stream` is not set, so it will not run
            throw FFmpegError(code: s3t_averror_enomem(), operation: "avformat_new_stream")
        }
        // From here every property is set, so a throw runs deinit, which frees the context.
        format = context
        self.stream = stream
        context.pointee.pb = io.context
        context.pointee.flags |= s3t_avfmt_flag_custom_io()
        try check(
            avcodec_parameters_from_context(stream.pointee.codecpar, encoder.pointer), "avcodec_parameters_from_context"
        )
        stream.pointee.time_base = encoder.pointer.pointee.time_base
        // The LAME frame's encoder field comes from this tag, as with the ffmpeg CLI.
        let version = avcodec_version()
        av_dict_set(
            &stream.pointee.metadata, "encoder",
            "Lavc\(version >> 16).\((version >> 8) & 0xFF).\(version & 0xFF) libmp3lame", 0)
        var options: OpaquePointer?
        defer { av_dict_free(&options) }
        if let metadata {
            for (key, value) in metadata { av_dict_set(&context.pointee.metadata, key, value, 0) }
        } else {
            av_dict_set(&options, "id3v2_version", "0", 0)
        }
        let written = avformat_write_header(context, &options)
        if let error = callbacks.error { throw error }
        try check(written, "avformat_write_header")
    }

    deinit {
        avformat_free_context(format)  // never touches the custom pb; `io` frees it after this
    }

    /// Writes one encoded packet (timestamps in `timeBase`), then unreferences it.
    func write(_ packet: UnsafeMutablePointer<AVPacket>, timeBase: AVRational) throws {
        defer { av_packet_unref(packet) }
        av_packet_rescale_ts(packet, timeBase, stream.pointee.time_base)
        packet.pointee.stream_index = stream.pointee.index
        let written = av_write_frame(format, packet)
        if let error = callbacks.error { throw error }
        try check(written, "av_write_frame")
    }

    /// Writes the trailer (the muxer seeks back and fills in the Xing/Info + LAME frame) and flushes.
    func finish() throws {
        let written = av_write_trailer(format)
        avio_flush(format.pointee.pb)
        if let error = callbacks.error { throw error }
        try check(written, "av_write_trailer")
        if io.context.pointee.error < 0 { try check(io.context.pointee.error, "avio_flush") }
    }
}
