import AudioTranscode
import Foundation
import TestSupport
import Testing

struct XingCase: CustomTestStringConvertible, Sendable {
    let mode: BitrateMode
    let rate: Int
    let channels: Int
    var testDescription: String { "\(mode) \(rate) Hz \(channels) ch" }
}

let xingCases = [
    XingCase(mode: .cbr(kbps: 192), rate: 44100, channels: 2),
    XingCase(mode: .vbr(quality: 2), rate: 44100, channels: 2),
    XingCase(mode: .abr(kbps: 128), rate: 48000, channels: 2),
    XingCase(mode: .cbr(kbps: 64), rate: 22050, channels: 1),
    XingCase(mode: .vbr(quality: 5), rate: 11025, channels: 1),
]

@Test(
    "The Xing/Info + LAME frame agrees with the encoder's own counts and the frames that follow it",
    arguments: xingCases)
func xingFrameMatchesEncoder(_ c: XingCase) throws {
    // 100,000 samples: not a multiple of the frame size, so there is padding to record.
    let fixture = WAVFixture(sampleRate: c.rate, channels: c.channels, frames: 100_000)
    let sink = MemorySink()
    let result = try Transcoder(options: EncodingOptions(bitrate: c.mode)).transcode(
        from: RecordingSource(fixture.bytes()), to: sink)
    #expect(sink.finished && !sink.aborted)
    #expect(result.bytesWritten == Int64(sink.bytes.count))

    let layout = MP3Layout(sink.bytes)
    let xing = try #require(layout.xing)
    let isCBR = if case .cbr = c.mode { true } else { false }
    #expect(xing.tag == (isCBR ? "Info" : "Xing"))
    // Frames: the encoder's packet count, and the frames actually in the file.
    #expect(xing.frames == Int(result.frames))
    #expect(layout.audioFrames.count == Int(result.frames))
    // Bytes: everything after the ID3v2 tag (the Info frame and the audio frames), to the end of the file.
    let audioBytes = layout.frames.map(\.length).reduce(0, +)
    #expect(xing.bytes == audioBytes)
    #expect(layout.id3Size + audioBytes == sink.bytes.count)
    #expect(xing.musicLength == audioBytes)
    #expect(xing.hasTOC)
    // Delay and padding: the encoder's delay, then exactly the samples given to it, then padding, fill the frames.
    let samplesPerFrame = try #require(layout.frames.first).samples
    let delay = try #require(xing.delay)
    let padding = try #require(xing.padding)
    #expect(delay == 576)
    #expect(delay + Int(result.samplesOut) + padding == Int(result.frames) * samplesPerFrame)
    #expect(xing.encoder?.hasPrefix("Lavc") == true)
    // Every audio frame at the output rate and channel count; CBR at one bitrate, VBR at several.
    #expect(layout.audioFrames.allSatisfy { $0.sampleRate == c.rate && $0.channels == c.channels })
    let bitrates = Set(layout.audioFrames.map(\.bitrate))
    if isCBR {
        #expect(bitrates == [c.mode == .cbr(kbps: 192) ? 192_000 : 64_000])
    } else {
        #expect(bitrates.count > 1)
    }
    // The muxer rewrote exactly the Info frame, once, at the trailer.
    let first = try #require(layout.frames.first)
    #expect(sink.rewrites == [Int64(first.offset)..<Int64(first.offset + first.length)])
}

@Test("VBR: ffprobe's duration matches the source within one frame, and the decoder returns every sample")
func vbrDurationFromFFprobe() throws {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    // A tone that sweeps and changes level, so VBR frames really vary.
    var fixture = WAVFixture(sampleRate: 44100, channels: 2, frames: 44100 * 4, frequency: 300)
    fixture.amplitude = 0.4
    let input = try dir.write(fixture.bytes(), to: "in.wav")
    let output = dir.file("out.mp3")
    let result = try Transcoder(options: EncodingOptions(bitrate: .vbr(quality: 2)))
        .transcode(from: try FileSource(path: input), to: try FileSink(path: output))
    let probed = try ffprobeStream(output)
    let duration = try #require(probed.duration)
    let start = try #require(probed.startTime)
    // FFmpeg 5.1's ffprobe reports the Xing frame count times 1152 as the duration (so it read our
    // count rather than estimating from the bitrate, which is what a file without the frame gets)
    // and reports the decoder's skip (delay + 529) as start_time; it does not subtract the
    // padding. Playing time from start_time to the end is then the source's length within one frame.
    #expect(abs(duration - Double(result.frames) * 1152 / 44100) < 1e-5, "ffprobe says \(duration) s")
    #expect(abs((duration - start) - 4.0) < 1152.0 / 44100, "ffprobe says \(duration) s from \(start) s")
    #expect(try decodeWithFFmpeg(output).frames == 44100 * 4)
    #expect(result.duration == 4.0)
}

@Test("A sink without a rewritable window (a pipe) gets no Xing/Info frame and is never rewritten")
func pipeSinkHasNoXingFrame() throws {
    let fixture = WAVFixture(frames: 20000)
    let sink = MemorySink(window: nil)
    let result = try Transcoder().transcode(from: RecordingSource(fixture.bytes()), to: sink)
    let layout = MP3Layout(sink.bytes)
    #expect(layout.xing == nil)
    #expect(sink.rewrites.isEmpty)
    #expect(!result.hasGaplessInfo)
    #expect(layout.frames.count == Int(result.frames))
}

@Test("A window that holds the Info frame is enough (an S3 upload keeps only part 1); one too small fails and aborts")
func rewritableWindowBounds() throws {
    let fixture = WAVFixture(frames: 20000)
    let small = MemorySink(window: 8192)
    _ = try Transcoder().transcode(from: RecordingSource(fixture.bytes()), to: small)
    #expect(MP3Layout(small.bytes).xing?.frames != nil)

    let tooSmall = MemorySink(window: 100)
    let long = WAVFixture(frames: 441_000)  // more than the 64 KiB AVIO buffer, so the rewrite reaches the sink
    #expect { try Transcoder().transcode(from: RecordingSource(long.bytes()), to: tooSmall) } throws: { error in
        (error as? TranscodeError)?.kind == .internalFailure
    }
    #expect(tooSmall.aborted)
}
