import CAVCodec
import CAVUtil
import Foundation
import TestSupport
import Testing

@testable import AudioTranscode

// Segment-parallel encoding (`--threads`): the Layer III frame parser, the join of two segments'
// bit reservoirs on hand-made frames, and whole encodes decoded by FFmpeg and mpg123.

/// Big-endian bit fields, for hand-made side information.
private struct BitWriter {
    var bytes: [UInt8] = []
    var count = 0

    mutating func write(_ value: Int, _ bits: Int) {
        for bit in (0..<bits).reversed() {
            if count % 8 == 0 { bytes.append(0) }
            if value >> bit & 1 == 1 { bytes[count / 8] |= 0x80 >> UInt8(count % 8) }
            count += 1
        }
    }
}

/// An MPEG-1 Layer III stereo frame at 44.1 kHz: `main_data_begin` and four `part2_3_length`
/// fields set, every other side information field zero, the area filled with `fill`.
private func handMadeFrame(
    bitrateIndex: Int = 9, padding: Bool = false, mainDataBegin: Int, part23: [Int], fill: UInt8 = 0
)
    -> [UInt8]
{
    let size = MP3FrameLayout.frameSize(isLSF: false, bitrateIndex: bitrateIndex, sampleRate: 44100, padding: padding)
    var bytes: [UInt8] = [0xFF, 0xFB, UInt8(bitrateIndex << 4) | (padding ? 2 : 0), 0x00]  // MPEG-1 L3, no CRC, stereo
    var side = BitWriter()
    side.write(mainDataBegin, 9)
    side.write(0, 3 + 8)  // private bits, scfsi
    for length in part23 {
        side.write(length, 12)
        side.write(0, 47)
    }
    bytes += side.bytes
    bytes += [UInt8](repeating: fill, count: size - bytes.count)
    return bytes
}

/// Frames laid out as an encoder with a bit reservoir would: frame `i`'s main data (`sizes[i]`
/// bytes of the value `i % 250 + 1`) starts as early as the reservoir (`reservoir` bytes at most)
/// allows. Returns nil when a frame's data does not fit.
private func layOut(sizes: [Int], reservoir: Int, bitrateIndex: Int = 9, firstValue: Int = 0) -> [EncodedFrame]? {
    let area =
        MP3FrameLayout.frameSize(isLSF: false, bitrateIndex: bitrateIndex, sampleRate: 44100, padding: false) - 36
    var stream: [UInt8] = []
    var begins: [Int] = []
    var end = 0
    for (index, size) in sizes.enumerated() {
        let areaStart = index * area
        let start = max(end, areaStart - reservoir)
        guard start + size <= areaStart + area else { return nil }
        begins.append(areaStart - start)
        stream += [UInt8](repeating: 0, count: areaStart + area - stream.count)
        for offset in start..<(start + size) { stream[offset] = UInt8((firstValue + index) % 250 + 1) }
        end = start + size
    }
    return sizes.indices.map { index in
        var frame = handMadeFrame(
            bitrateIndex: bitrateIndex, mainDataBegin: begins[index], part23: split(sizes[index] * 8))
        frame.replaceSubrange(36..., with: stream[(index * area)..<((index + 1) * area)])
        return EncodedFrame(bytes: frame)!
    }
}

private func split(_ bits: Int) -> [Int] { [bits / 4, bits / 4, bits / 4, bits - 3 * (bits / 4)] }

/// Checks that every frame's main data is where its `main_data_begin` says, within the bytes
/// before it and before the next frame's header, and returns each frame's main data.
private func mainData(of frames: [EncodedFrame]) throws -> [[UInt8]] {
    let reservoir = FrameJoin.Reservoir(frames)
    var previousEnd = 0
    return try frames.indices.map { index in
        let range = try #require(reservoir.mainData(of: index, in: frames), "frame \(index) points before the stream")
        #expect(range.lowerBound >= previousEnd, "frame \(index)'s main data overlaps the previous frame's")
        #expect(range.upperBound <= reservoir.areaStarts[index] + frames[index].layout.areaLength)
        previousEnd = range.upperBound
        return Array(reservoir.bytes[range])
    }
}

@Test("The frame parser reads main_data_begin, part2_3_length and the frame size of MPEG-1 and LSF frames")
func frameParser() throws {
    let frame = handMadeFrame(bitrateIndex: 9, padding: true, mainDataBegin: 300, part23: [100, 200, 300, 401])
    let layout = try #require(MP3FrameLayout(frame))
    #expect(layout.size == 418)  // 144 × 128000 / 44100 + 1
    #expect(!layout.isLSF && layout.channels == 2 && !layout.hasCRC)
    #expect(layout.mainDataBegin == 300 && layout.mainDataBits == 1001 && layout.mainDataBytes == 126)
    #expect(layout.areaOffset == 36 && layout.areaLength == 382)

    // MPEG-2 (22.05 kHz), mono, with a CRC: 8-bit main_data_begin, one granule, 9 bytes of side info.
    var side = BitWriter()
    side.write(200, 8)
    side.write(0, 1)
    side.write(777, 12)
    side.write(0, 51)
    var lsf: [UInt8] = [0xFF, 0xF2, 0x80, 0xC0, 0x00, 0x00] + side.bytes  // 64 kbit/s, mono, CRC
    lsf += [UInt8](repeating: 0, count: 208 - lsf.count)  // 72 × 64000 / 22050
    var parsed = try #require(EncodedFrame(bytes: lsf))
    #expect(parsed.layout.isLSF && parsed.layout.channels == 1 && parsed.layout.hasCRC)
    #expect(parsed.layout.mainDataBegin == 200 && parsed.layout.mainDataBits == 777 && parsed.layout.size == 208)
    #expect(parsed.layout.sideInfoLength == 9 && parsed.layout.areaOffset == 15)

    // Rewriting main_data_begin changes that field (and the CRC) only.
    parsed.setMainDataBegin(17)
    #expect(MP3FrameLayout(parsed.bytes)?.mainDataBegin == 17)
    #expect(parsed.bytes[4..<6] != [0, 0])
    #expect(parsed.bytes[7...] == lsf[7...])

    // Not a Layer III frame: no sync, layer II, free format, truncated.
    #expect(MP3FrameLayout([0x00, 0xFB, 0x90, 0x00] + [UInt8](repeating: 0, count: 500)) == nil)
    #expect(MP3FrameLayout([0xFF, 0xFD, 0x90, 0x00] + [UInt8](repeating: 0, count: 500)) == nil)
    #expect(MP3FrameLayout([0xFF, 0xFB, 0x00, 0x00] + [UInt8](repeating: 0, count: 500)) == nil)
    #expect(MP3FrameLayout(Array(frame.prefix(200))) == nil)
}

/// The frames of a splice: `left` before it, its rewritten frames, then `right` after them.
private func spliced(_ splice: FrameJoin.Splice, left: [EncodedFrame], right: [EncodedFrame], rightFirst: Int)
    -> [EncodedFrame]
{
    Array(left[..<(splice.frame - splice.leftTail.count)]) + splice.leftTail + splice.rightHead
        + right[(splice.frame - rightFirst + splice.rightHead.count)...]
}

@Test("A join where the right segment's early main data fits in the left segment's free bytes keeps both layouts")
func joinThatFits() throws {
    // 128 kbit/s frames (381-byte areas) with 250 bytes of main data each. Left: an encoder whose
    // reservoir is up to 200 bytes, so 331 bytes are free before frame 5's header.
    let left = try #require(layOut(sizes: Array(repeating: 250, count: 10), reservoir: 200))
    // Right: encoded from frame 3, reservoir up to 60 bytes: frame 5 starts 60 bytes before its header.
    let right = try #require(layOut(sizes: Array(repeating: 250, count: 7), reservoir: 60, firstValue: 3))
    #expect(right[2].layout.mainDataBegin == 60)

    let splice = try #require(
        FrameJoin.trial(
            left: left[...], leftFirst: 0, right: right[...], rightFirst: 3, at: 5, needed: 10, mayEnlarge: false))
    #expect(splice.shift == 0 && splice.enlarged == 0 && splice.contentMatches)
    let joined = spliced(splice, left: left, right: right, rightFirst: 3)
    #expect(joined.count == 10)
    #expect(joined[5].layout.mainDataBegin == 60)
    for (index, bytes) in try mainData(of: joined).enumerated() {
        #expect(bytes == [UInt8](repeating: UInt8(index + 1), count: 250), "frame \(index)")
    }
}

@Test("A join where the right main data does not fit moves it later, in CBR without changing a bitrate")
func joinThatDoesNotFit() throws {
    // Left: 370 bytes of data in each 381-byte area, reservoir up to 20 bytes: 31 bytes free at frame 5.
    let left = try #require(layOut(sizes: Array(repeating: 370, count: 12), reservoir: 20))
    // Right: encoded from frame 2, three small warm-up frames filled its reservoir (300 bytes).
    let right = try #require(
        layOut(sizes: [100, 100, 100] + Array(repeating: 370, count: 7), reservoir: 300, firstValue: 2))
    #expect(right[3].layout.mainDataBegin == 300)

    let splice = try #require(
        FrameJoin.trial(
            left: left[...], leftFirst: 0, right: right[...], rightFirst: 2, at: 5, needed: 12, mayEnlarge: false))
    #expect(splice.shift == 269 && splice.enlarged == 0)
    let joined = spliced(splice, left: left, right: right, rightFirst: 2)
    #expect(joined.count == 12 && joined.allSatisfy { $0.layout.bitrateIndex == 9 })
    #expect(joined[5].layout.mainDataBegin == 31)
    for (index, bytes) in try mainData(of: joined).enumerated() {
        #expect(bytes == [UInt8](repeating: UInt8(index + 1), count: 370), "frame \(index)")
    }
}

@Test("A join where the moved main data overruns a frame: impossible in CBR; VBR and ABR raise that frame's bitrate")
func joinThatNeedsALargerFrame() throws {
    let left = try #require(layOut(sizes: Array(repeating: 370, count: 10), reservoir: 20))
    // Right: frames 5 and 6 spend its reservoir (450 bytes in 381-byte areas).
    let sizes = [100, 100, 100, 450, 450, 381, 381, 381]
    let right = try #require(layOut(sizes: sizes, reservoir: 300, firstValue: 2))
    #expect(
        FrameJoin.trial(
            left: left[...], leftFirst: 0, right: right[...], rightFirst: 2, at: 5, needed: 10, mayEnlarge: false)
            == nil)
    #expect(
        FrameJoin.splice(
            left: left[...], leftFirst: 0, right: right[...], rightFirst: 2, candidates: 5..<6, needed: 10,
            mayEnlarge: false) == nil)
    let splice = try #require(
        FrameJoin.trial(
            left: left[...], leftFirst: 0, right: right[...], rightFirst: 2, at: 5, needed: 10, mayEnlarge: true))
    #expect(splice.enlarged >= 1)
    let joined = spliced(splice, left: left, right: right, rightFirst: 2)
    #expect(joined[5].layout.bitrateIndex > 9)
    let expected = Array(repeating: 370, count: 5) + sizes[3...]
    for (index, bytes) in try mainData(of: joined).enumerated() {
        #expect(bytes == [UInt8](repeating: UInt8(index + 1), count: expected[index]), "frame \(index)")
    }
}

@Test("The segment plan starts every encoder at a multiple of 98 frames, so that padding bits follow the serial encode")
func segmentPlan() {
    let plan = SegmentPlan(length: 200)
    #expect(plan.length == 196)
    #expect(plan.inputStart(3) == 588 && plan.inputStart(3) % SegmentPlan.paddingCycle == 0)
    #expect(plan.coreStart(0) == 0 && plan.coreStart(1) == 236)
    #expect(plan.inputEnd(0) == 236 + 8 + 2)
    #expect(SegmentPlan(length: 10).length == 98)
}

// MARK: - Whole encodes

/// Music-like audio (Scripts/gen-audio.sh's generator): `seconds` of 44.1 kHz stereo.
private func musicLikeWAV(in directory: TemporaryDirectory, seconds: Int) throws -> String {
    let path = directory.file("music.wav")
    let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
        "../../Scripts/gen-audio.sh"
    ).standardized.path
    _ = try run("bash", [script, path, String(seconds)])
    return path
}

private func encode(_ path: String, _ options: EncodingOptions) throws -> (TranscodeResult, [UInt8]) {
    let sink = MemorySink()
    let result = try Transcoder(options: options).transcode(from: try FileSource(path: path), to: sink)
    #expect(sink.finished && !sink.aborted)
    return (result, sink.bytes)
}

private func options(_ mode: BitrateMode, threads: Int) -> EncodingOptions {
    var options = EncodingOptions(bitrate: mode)
    options.threads = threads
    options.segmentFrames = 98
    return options
}

@Test("--threads 1 is the serial encode, byte for byte")
func oneThreadIsSerial() throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let wav = try directory.write(WAVFixture(sampleRate: 44100, channels: 2, frames: 200_000).bytes(), to: "in.wav")
    let (serial, serialBytes) = try encode(wav, EncodingOptions())
    let (one, oneBytes) = try encode(wav, options(.cbr(kbps: 192), threads: 1))
    #expect(oneBytes == serialBytes)
    #expect(one.segments == 1 && one.joins.isEmpty && serial.segments == 1)
    // Shorter than one segment with its look-ahead (174 frames): one segment, flushed as the serial
    // encode is, so the same bytes even with 2 threads.
    var short = options(.cbr(kbps: 192), threads: 2)
    short.segmentFrames = nil
    let (two, twoBytes) = try encode(wav, short)
    #expect(two.segments == 1 && twoBytes == serialBytes)
}

@Test(
    "--threads 2 joins segments into one valid stream: exact sample count, no decoder complaint, the serial encode's quality",
    arguments: [BitrateMode.cbr(kbps: 192), .abr(kbps: 160), .vbr(quality: 2)])
func parallelEncodeIsValid(_ mode: BitrateMode) throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let wav = try musicLikeWAV(in: directory, seconds: 12)
    let (serial, serialBytes) = try encode(wav, EncodingOptions(bitrate: mode))
    let (parallel, parallelBytes) = try encode(wav, options(mode, threads: 2))
    #expect(parallel.segments >= 4)
    // Each join at one of its segment's candidate frames (the first, unless only a later one needs no
    // larger frame or codes the same content on both sides).
    let plan = SegmentPlan(length: 98)
    #expect(parallel.joins.count == parallel.segments - 1)
    for (index, join) in parallel.joins.enumerated() {
        #expect(plan.joinCandidates(index + 1).contains(join.frame))
    }
    #expect(parallel.frames == serial.frames && parallel.samplesOut == serial.samplesOut)
    if case .cbr = mode { #expect(parallel.joins.allSatisfy { $0.enlargedFrames == 0 }) }

    let serialPath = try directory.write(serialBytes, to: "serial.mp3")
    let path = try directory.write(parallelBytes, to: "parallel.mp3")
    // FFmpeg and mpg123 decode it without a word, to exactly the input's samples.
    let ffmpegWarnings = try runCapturingErrors("ffmpeg", ["-v", "warning", "-i", path, "-f", "null", "-"])
    #expect(ffmpegWarnings.isEmpty, "ffmpeg: \(ffmpegWarnings)")
    // Verbose: with -q, mpg123 says nothing even on "dequantization failed" or junk between frames.
    let mpg123Messages = mpg123Complaints(try runCapturingErrors("mpg123", ["-t", "-v", path]))
    #expect(mpg123Messages.isEmpty, "mpg123: \(mpg123Messages)")
    let source = try decodeWithFFmpeg(wav)
    let decoded = try decodeWithFFmpeg(path)
    let reference = try decodeWithFFmpeg(serialPath)
    #expect(decoded.frames == source.frames && reference.frames == source.frames)
    // Over the whole file, the error against the source is the serial encode's within 0.1 dB.
    func snr(_ audio: DecodedAudio) -> Double {
        var signal = 0.0
        var noise = 0.0
        for index in 0..<min(audio.samples.count, source.samples.count) {
            let s = Double(source.samples[index])
            signal += s * s
            noise += (Double(audio.samples[index]) - s) * (Double(audio.samples[index]) - s)
        }
        return 10 * log10(signal / noise)
    }
    #expect(abs(snr(decoded) - snr(reference)) < 0.1)
}

@Test(
    "A pure sine at CBR converges: every frame of the parallel encode codes the serial encode's audio at its reservoir level"
)
func sineJoinsAreTheSerialFrames() throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let wav = try directory.write(WAVFixture(sampleRate: 44100, channels: 2, frames: 441_000).bytes(), to: "sine.wav")
    let (_, serialBytes) = try encode(wav, EncodingOptions())
    let (parallel, parallelBytes) = try encode(wav, options(.cbr(kbps: 192), threads: 2))
    #expect(parallel.joins.count >= 3)
    #expect(parallel.joins.allSatisfy { $0.shift == 0 && $0.contentMatches })
    let serialFrames = try audioFrames(serialBytes)
    let parallelFrames = try audioFrames(parallelBytes)
    #expect(serialFrames.count == parallelFrames.count)
    let serialData = try mainData(of: serialFrames)
    let parallelData = try mainData(of: parallelFrames)
    for index in serialFrames.indices {
        // Header, side information (main_data_begin included) and main data: all but ancillary bits.
        let same =
            serialFrames[index].bytes[..<36] == parallelFrames[index].bytes[..<36]
            && serialData[index] == parallelData[index]
        #expect(same, "frame \(index)")
        if !same { break }
    }
}

@Test("The memory for segments bounds how many are encoded at once")
func segmentMemoryBound() throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let wav = try directory.write(WAVFixture(sampleRate: 44100, channels: 2, frames: 300_000).bytes(), to: "in.wav")
    // 16-bit stereo: a 98-frame segment holds (98 + 40 + 10 + 1) × 1152 × 2 × 2 bytes, about 0.7 MB.
    var roomy = options(.cbr(kbps: 128), threads: 3)
    roomy.segmentMemory = 8 << 20
    var tight = roomy
    tight.segmentMemory = 1 << 20
    let (three, threeBytes) = try encode(wav, roomy)
    let (one, oneBytes) = try encode(wav, tight)
    #expect(three.encodersAtOnce == 3 && one.encodersAtOnce == 1)
    #expect(one.segments == three.segments && oneBytes == threeBytes)
}

/// One frame of 1152 samples, 16-bit planar stereo at 44.1 kHz, as the parallel encoder takes it.
private func stereoFrame() throws -> Frame {
    let frame = try Frame()
    frame.pointer.pointee.nb_samples = 1152
    frame.pointer.pointee.format = AV_SAMPLE_FMT_S16P.rawValue
    frame.pointer.pointee.sample_rate = 44100
    av_channel_layout_default(&frame.pointer.pointee.ch_layout, 2)
    _ = try check(av_frame_get_buffer(frame.pointer, 0), "av_frame_get_buffer")
    return frame
}

@Test("A worker's failure ends the encode with that error, and every worker has stopped when it is thrown")
func workerFailure() throws {
    let codec = try #require(avcodec_find_encoder_by_name("libmp3lame"))
    var encoder: ParallelEncoder? = ParallelEncoder(
        plan: SegmentPlan(length: 98), threads: 2, frameSize: 1152, mayEnlarge: false,
        // Never opened: the worker's first avcodec_send_frame fails.
        makeEncoder: {
            let context = try CodecContext(codec: codec)
            context.pointer.pointee.sample_rate = 44100
            av_channel_layout_default(&context.pointer.pointee.ch_layout, 2)
            return context
        },
        writeFrame: { _ in }, isCancelled: { false },
        name: "test")
    let frame = try stereoFrame()
    #expect {
        for _ in 0..<400 { try encoder?.add(frame.pointer) }
        try encoder?.finish()
    } throws: { ($0 as? FFmpegError)?.operation == "avcodec_send_frame" }
    encoder = nil  // waits for the workers: none may be left running
}

@Test("The encoder threads are reused, and the reader buffers at most half a segment's input ahead of 2 encoders")
func parallelBuffersLittle() throws {
    let codec = try #require(avcodec_find_encoder_by_name("libmp3lame"))
    let plan = SegmentPlan(length: 392)
    var written = 0
    let encoder = ParallelEncoder(
        plan: plan, threads: 2, frameSize: 1152, mayEnlarge: false,
        makeEncoder: {
            let context = try CodecContext(codec: codec)
            context.pointer.pointee.sample_rate = 44100
            context.pointer.pointee.sample_fmt = AV_SAMPLE_FMT_S16P
            context.pointer.pointee.bit_rate = 128_000
            av_channel_layout_default(&context.pointer.pointee.ch_layout, 2)
            _ = try check(avcodec_open2(context.pointer, codec, nil), "avcodec_open2")
            return context
        },
        writeFrame: { _ in written += 1 }, isCancelled: { false }, name: "test")
    let frame = try stereoFrame()
    for channel in 0..<2 {
        let samples = UnsafeMutableRawPointer(frame.pointer.pointee.extended_data[channel]!)
            .bindMemory(to: Int16.self, capacity: 1152)
        for index in 0..<1152 { samples[index] = Int16(truncatingIfNeeded: index * 37 &* (channel + 1)) }
    }
    let frames = 6 * plan.length
    for _ in 0..<frames { try encoder.add(frame.pointer) }
    try encoder.finish()
    #expect(encoder.segments == 6 && encoder.joins.count == 5)
    #expect(written >= frames)
    // One thread per encoder at once, not one per segment.
    #expect(encoder.workerThreads == 2)
    // Read ahead of the encoders: half a segment's input (the rest of the other worker's segment,
    // read before this one's next segment starts) and `lead` frames, plus the frame that one read
    // adds to two overlapping segments. Buffering whole segments (two being encoded, one being
    // filled) was three segments' input.
    let segmentInput = plan.inputEnd(1) - plan.inputStart(1)
    #expect(encoder.bufferLimit == segmentInput / 2 + ParallelEncoder.lead)
    #expect(encoder.mostFramesBuffered <= encoder.bufferLimit + 1)
}

@Test("A cancelled parallel encode stops its workers, aborts the sink and says so")
func parallelCancel() throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let wav = try directory.write(WAVFixture(sampleRate: 44100, channels: 2, frames: 600_000).bytes(), to: "in.wav")
    let sink = MemorySink()
    var checks = 0
    #expect {
        try Transcoder(options: options(.cbr(kbps: 128), threads: 2)).transcode(
            from: try FileSource(path: wav), to: sink,
            isCancelled: {
                checks += 1
                return checks > 200
            })
    } throws: { ($0 as? TranscodeError)?.kind == .cancelled }
    #expect(sink.aborted && !sink.finished)
}

/// The audio frames of an MP3 (after the ID3v2 tag and the Xing/Info frame).
private func audioFrames(_ bytes: [UInt8]) throws -> [EncodedFrame] {
    let layout = MP3Layout(bytes)
    return try layout.audioFrames.map { frame in
        try #require(EncodedFrame(bytes: Array(bytes[frame.offset..<(frame.offset + frame.length)])))
    }
}

/// Runs a tool that must succeed and returns what it wrote to standard error.
/// The lines of `mpg123 -v`'s report that complain (as Scripts/check-joins.py reads them): not the
/// progress lines, the file's and folder's names or the tag listing.
private func mpg123Complaints(_ report: String) -> [String] {
    let complaint =
        /error|warn|note|can't|cannot|fail|illegal|invalid|resync|too large|big_values|part2_3|dequantiz/
        .ignoresCase()
    let trouble = /skip|junk|bad|lost|mismatch|broken|overflow|corrupt/.ignoresCase()
    return report.split(whereSeparator: { $0 == "\n" || $0 == "\r" }).map(String.init).filter { line in
        let text = line.trimmingPrefix(while: \.isWhitespace)
        guard !text.hasPrefix(">"), !text.hasPrefix("Directory:"), !text.hasPrefix("Playing MPEG stream"),
            !text.hasPrefix("Decoding of"),
            !["Title:", "Artist:", "Album:", "Year:", "Genre:", "Comment:"].contains(where: { text.hasPrefix($0) })
        else { return false }
        return text.contains(complaint) || text.contains(trouble)
    }
}

private func runCapturingErrors(_ tool: String, _ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [tool] + arguments
    let errors = Pipe()
    process.standardError = errors
    process.standardOutput = FileHandle.nullDevice
    try process.run()
    let data = errors.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let text = String(decoding: data, as: UTF8.self)
    guard process.terminationStatus == 0 else {
        throw ToolFailure(description: "\(tool) exited \(process.terminationStatus): \(text)")
    }
    return text
}
