import AudioTranscode
import Foundation
import TestSupport
import Testing

/// One row of the WAV flavour table.
struct Flavour: CustomTestStringConvertible, Sendable {
    let encoding: WAVFixture.Encoding
    let container: WAVFixture.Container
    let rate: Int
    let channels: Int
    /// The rate the MP3 must have.
    let outputRate: Int

    init(
        _ encoding: WAVFixture.Encoding, _ container: WAVFixture.Container, _ rate: Int, _ channels: Int,
        out outputRate: Int? = nil
    ) {
        self.encoding = encoding
        self.container = container
        self.rate = rate
        self.channels = channels
        self.outputRate = outputRate ?? rate
    }

    var testDescription: String { "\(encoding) \(container) \(rate) Hz \(channels) ch" }

    /// One second of a 1 kHz sine; quieter with more channels so a downmix cannot clip.
    var fixture: WAVFixture {
        WAVFixture(
            encoding: encoding, container: container, sampleRate: rate, channels: channels,
            frames: rate, frequency: 1000, amplitude: channels > 2 ? 0.15 : 0.5)
    }
}

/// Every sample encoding, every container, 1 to 8 channels, 8 kHz to 192 kHz, and the rates MP3
/// cannot carry.
let flavours: [Flavour] = [
    Flavour(.u8, .riff, 8000, 1),
    Flavour(.u8, .extensible, 11025, 2),
    Flavour(.s16, .riff, 44100, 2),
    Flavour(.s16, .riff, 22050, 1),
    Flavour(.s16, .riff, 12000, 2),
    Flavour(.s16, .riff, 11025, 5),
    Flavour(.s16, .extensible, 44100, 8),
    Flavour(.s16, .rf64, 44100, 2),
    Flavour(.s16, .riff, 88200, 2, out: 44100),
    Flavour(.s16, .riff, 50000, 2, out: 48000),
    Flavour(.s24, .riff, 48000, 2),
    Flavour(.s24, .extensible, 96000, 6, out: 48000),
    Flavour(.s24, .extensible, 192_000, 4, out: 48000),
    Flavour(.s32, .riff, 32000, 2),
    Flavour(.s32, .extensible, 24000, 1),
    Flavour(.f32, .riff, 44100, 2),
    Flavour(.f32, .bw64, 48000, 3),
    Flavour(.f32, .extensible, 16000, 7),
    Flavour(.f64, .riff, 48000, 1),
    Flavour(.mulaw, .riff, 8000, 1),
    Flavour(.alaw, .riff, 8000, 2),
]

/// The SNR bound for a 1 kHz sine through the whole chain (WAV → resampler → LAME at CBR 192 →
/// FFmpeg's decoder), fitted over the middle 80 %. The weakest links are the 8-bit sources: u8 at
/// half scale has a quantisation SNR of about 44 dB and G.711 about 38 dB; LAME at 192 kbit/s codes
/// a lone tone far more finely than that. Any real fault (wrong sample format, byte order, rate,
/// channel mapping, a gap or a doubled frame) drops it to near 0 dB. 25 dB sits well inside both.
/// Measured with FFmpeg 5.1 / LAME 3.100: 76–96 dB from 16-bit and wider sources, 44–51 dB from
/// u8, 34–36 dB from μ-law and A-law.
let minimumSNR = 25.0

@Test("Each WAV flavour decodes back to the exact sample count, the same tone and a clean signal", arguments: flavours)
func flavourRoundTrip(_ flavour: Flavour) throws {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let fixture = flavour.fixture
    let input = dir.file("in.wav")
    try fixture.write(to: input)
    let output = dir.file("out.mp3")
    let result = try Transcoder().transcode(from: try FileSource(path: input), to: try FileSink(path: output))

    #expect(result.samplesIn == Int64(fixture.frames))
    #expect(result.outputSampleRate == flavour.outputRate)
    #expect(result.outputChannels == min(flavour.channels, 2))
    #expect(result.input.channels == flavour.channels)
    #expect(result.input.sampleRate == flavour.rate)
    #expect(result.hasGaplessInfo)
    // The source's length at the output rate.
    let expectedOut =
        (Int64(fixture.frames) * Int64(flavour.outputRate) + Int64(flavour.rate) - 1) / Int64(flavour.rate)
    #expect(result.samplesOut == expectedOut)

    let decoded = try decodeWithFFmpeg(output)
    #expect(decoded.sampleRate == flavour.outputRate)
    #expect(decoded.channels == result.outputChannels)
    #expect(decoded.frames == Int(result.samplesOut), "gapless: delay and padding trimmed")

    let middle = decoded.frames / 10..<decoded.frames * 9 / 10
    for channel in 0..<decoded.channels {
        let analysis = SineAnalysis(decoded.channel(channel)[middle], sampleRate: decoded.sampleRate)
        #expect(abs(analysis.frequency - 1000) < 1, "channel \(channel): \(analysis.frequency) Hz")
        #expect(analysis.snr > minimumSNR, "channel \(channel): SNR \(analysis.snr) dB")
        print(
            "\(flavour.testDescription) ch\(channel): \(analysis.frequency) Hz, SNR \(analysis.snr) dB, samplesOut \(result.samplesOut)"
        )
    }
}
