import AudioTranscode
import Foundation
import TestSupport
import Testing

@Test(
    "Rates MP3 cannot carry go to the nearest legal rate of their family",
    arguments: [
        (44100, 44100), (48000, 48000), (8000, 8000), (11025, 11025), (12000, 12000),
        (96000, 48000), (192_000, 48000), (64000, 48000), (88200, 44100), (176_400, 44100),
        (50000, 48000), (37800, 32000), (47999, 48000), (7000, 8000), (5512, 8000), (20000, 24000),
        (352_800, 44100), (384_000, 48000),
    ])
func legalSampleRate(_ rate: Int, _ expected: Int) {
    #expect(MP3SampleRate.legal(for: rate) == expected)
}

@Test(
    "The encoder takes the planar format closest to the input's: no conversion besides the resampler",
    arguments: [
        (WAVFixture.Encoding.u8, "s16p"), (.s16, "s16p"), (.mulaw, "s16p"), (.alaw, "s16p"),
        (.s24, "s32p"), (.s32, "s32p"), (.f32, "fltp"), (.f64, "fltp"),
    ])
func encoderSampleFormat(_ encoding: WAVFixture.Encoding, _ expected: String) throws {
    let result = try Transcoder().transcode(
        from: RecordingSource(WAVFixture(encoding: encoding, frames: 2000).bytes()), to: MemorySink())
    #expect(result.outputSampleFormat == expected)
}

@Test(
    "Output rate and channel options",
    arguments: [
        (44100, 2, 22050, 1), (48000, 1, 44100, 2), (44100, 2, 8000, 2), (96000, 2, 32000, 1),
    ])
func outputRateAndChannels(_ inRate: Int, _ inChannels: Int, _ outRate: Int, _ outChannels: Int) throws {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let fixture = WAVFixture(sampleRate: inRate, channels: inChannels, frames: inRate)
    let output = dir.file("out.mp3")
    let result = try Transcoder(
        options: EncodingOptions(bitrate: .cbr(kbps: 64), sampleRate: outRate, channels: outChannels)
    )
    .transcode(from: RecordingSource(fixture.bytes()), to: try FileSink(path: output))
    #expect(result.outputSampleRate == outRate && result.outputChannels == outChannels)
    let decoded = try decodeWithFFmpeg(output)
    #expect(decoded.sampleRate == outRate && decoded.channels == outChannels)
    #expect(decoded.frames == outRate, "one second at the output rate")
    let analysis = SineAnalysis(decoded.channel(outChannels - 1)[outRate / 10..<outRate * 9 / 10], sampleRate: outRate)
    #expect(abs(analysis.frequency - 1000) < 1)
    #expect(analysis.snr > minimumSNR)
}

struct DownmixCase: CustomTestStringConvertible, Sendable {
    let name: String
    let channels: Int
    let gains: [Double]
    /// Expected output level relative to the tone's, left and right (nil: silent).
    let left: Double?
    let right: Double?
    var testDescription: String { name }
}

/// libswresample's default matrix (as ffmpeg's): centre and surrounds at -3 dB into both sides or
/// their own side, LFE dropped, then normalised so the matrix cannot clip.
let downmixCases = [
    DownmixCase(name: "5.1, front left only", channels: 6, gains: [1, 0, 0, 0, 0, 0], left: 1, right: nil),
    DownmixCase(name: "5.1, front right only", channels: 6, gains: [0, 1, 0, 0, 0, 0], left: nil, right: 1),
    DownmixCase(name: "5.1, centre only", channels: 6, gains: [0, 0, 1, 0, 0, 0], left: 0.7071, right: 0.7071),
    DownmixCase(name: "5.1, LFE only", channels: 6, gains: [0, 0, 0, 1, 0, 0], left: nil, right: nil),
    DownmixCase(name: "5.1, back left only", channels: 6, gains: [0, 0, 0, 0, 1, 0], left: 0.7071, right: nil),
    DownmixCase(name: "7.1, side right only", channels: 8, gains: [0, 0, 0, 0, 0, 0, 0, 1], left: nil, right: 0.7071),
    DownmixCase(name: "quad, back right only", channels: 4, gains: [0, 0, 0, 1], left: nil, right: 0.7071),
]

@Test("More than two channels are downmixed with the matrix for their layout", arguments: downmixCases)
func downmixMatrix(_ c: DownmixCase) throws {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    // Float output keeps the matrix unnormalised, so the levels can be read off directly.
    var fixture = WAVFixture(
        encoding: .f32, container: .extensible, sampleRate: 48000, channels: c.channels, frames: 48000, amplitude: 0.3)
    fixture.channelGains = c.gains
    let output = dir.file("out.mp3")
    _ = try Transcoder().transcode(from: RecordingSource(fixture.bytes()), to: try FileSink(path: output))
    let decoded = try decodeWithFFmpeg(output)
    #expect(decoded.channels == 2)
    for (channel, expected) in [(0, c.left), (1, c.right)] {
        let signal = decoded.channel(channel)[4800..<43200]
        let rms = (signal.map { $0 * $0 }.reduce(0, +) / Double(signal.count)).squareRoot()
        let toneRMS = 0.3 / 2.squareRoot()
        if let expected {
            #expect(abs(rms / toneRMS - expected) < 0.03, "channel \(channel): level \(rms / toneRMS)")
        } else {
            #expect(rms / toneRMS < 0.01, "channel \(channel) should be silent: level \(rms / toneRMS)")
        }
    }
}

@Test("CBR bitrate and LAME quality options reach the encoder")
func bitrateAndQuality() throws {
    let fixture = WAVFixture(frames: 44100)
    let cbr128 = MemorySink()
    _ = try Transcoder(options: EncodingOptions(bitrate: .cbr(kbps: 128))).transcode(
        from: RecordingSource(fixture.bytes()), to: cbr128)
    #expect(Set(MP3Layout(cbr128.bytes).audioFrames.map(\.bitrate)) == [128_000])
    let fast = MemorySink()
    let best = MemorySink()
    _ = try Transcoder(options: EncodingOptions(algorithmQuality: 9)).transcode(
        from: RecordingSource(fixture.bytes()), to: fast)
    _ = try Transcoder(options: EncodingOptions(algorithmQuality: 0)).transcode(
        from: RecordingSource(fixture.bytes()), to: best)
    #expect(fast.bytes.count == best.bytes.count, "same CBR size")
    #expect(fast.bytes != best.bytes, "different encodings")
}

@Test(
    "The MP3 is byte for byte what ffmpeg -c:a libmp3lame writes (tag, Info/Xing + LAME frame, audio)",
    arguments: [
        (BitrateMode.cbr(kbps: 192), ["-b:a", "192k"]), (.vbr(quality: 2), ["-q:a", "2"]),
        (.cbr(kbps: 128), ["-b:a", "128k"]),
    ])
func matchesFFmpegCLI(_ mode: BitrateMode, _ ffmpegOptions: [String]) throws {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let input = try dir.write(WAVFixture(frames: 44100 * 2, frequency: 440).bytes(), to: "in.wav")
    let ours = dir.file("ours.mp3")
    let theirs = dir.file("theirs.mp3")
    _ = try Transcoder(options: EncodingOptions(bitrate: mode)).transcode(
        from: try FileSource(path: input), to: try FileSink(path: ours))
    _ = try run("ffmpeg", ["-v", "error", "-i", input, "-c:a", "libmp3lame"] + ffmpegOptions + [theirs])
    let oursBytes = try Data(contentsOf: URL(fileURLWithPath: ours))
    let theirBytes = try Data(contentsOf: URL(fileURLWithPath: theirs))
    #expect(oursBytes.count == theirBytes.count)
    #expect(oursBytes == theirBytes)
}

@Test(
    "Channel counts FFmpeg has no layout for are still mixed to stereo (evenly, with a warning, when no rule applies)",
    arguments: [(9, false), (10, true), (12, false), (16, false)])
func manyChannels(_ channels: Int, _ warns: Bool) throws {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let fixture = WAVFixture(sampleRate: 16000, channels: channels, frames: 16000, amplitude: 0.05)
    let output = dir.file("out.mp3")
    var warnings: [String] = []
    let result = try Transcoder().transcode(
        from: RecordingSource(fixture.bytes()), to: try FileSink(path: output), warning: { warnings.append($0) })
    #expect(result.outputChannels == 2)
    #expect(warnings.count == (warns ? 1 : 0), "\(warnings)")
    let decoded = try decodeWithFFmpeg(output)
    #expect(decoded.frames == 16000)
    let analysis = SineAnalysis(decoded.channel(1)[1600..<14400], sampleRate: 16000)
    #expect(abs(analysis.frequency - 1000) < 1)
    #expect(analysis.snr > minimumSNR)
}
