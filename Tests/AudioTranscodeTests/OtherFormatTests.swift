import AudioTranscode
import Foundation
import TestSupport
import Testing

/// Containers and codecs other than WAV, made from a WAV by the ffmpeg CLI.
let otherFormats: [(ext: String, codec: [String], exact: Bool)] = [
    ("flac", ["-c:a", "flac"], true),
    ("aiff", ["-c:a", "pcm_s16be"], true),
    ("m4a", ["-c:a", "alac"], true),
    ("wv", ["-c:a", "wavpack"], true),
    ("ogg", ["-c:a", "libvorbis"], false),
    ("opus", ["-c:a", "libopus"], false),
    ("mp3", ["-c:a", "libmp3lame"], true),
]

@Test("Anything libavformat reads is transcoded, not only WAV", arguments: otherFormats.map(\.ext))
func otherFormat(_ ext: String) throws {
    let format = otherFormats.first { $0.ext == ext }!
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let wav = try dir.write(
        WAVFixture(sampleRate: 48000, frames: 48000, info: [("INAM", "Tïtle")]).bytes(), to: "in.wav")
    let input = dir.file("in.\(ext)")
    _ = try run("ffmpeg", ["-v", "error", "-i", wav] + format.codec + [input])
    let output = dir.file("out.mp3")
    let result = try Transcoder().transcode(from: try FileSource(path: input), to: try FileSink(path: output))
    #expect(result.input.container.contains(ext == "m4a" ? "mp4" : ext == "opus" ? "ogg" : ext == "wv" ? "wv" : ext))
    let decoded = try decodeWithFFmpeg(output)
    if format.exact {
        #expect(result.samplesIn == 48000)
        #expect(decoded.frames == 48000)
    } else {
        #expect(abs(decoded.frames - 48000) < 1152)
    }
    #expect(decoded.frames == Int(result.samplesOut))
    let analysis = SineAnalysis(decoded.channel(0)[4800..<43200], sampleRate: 48000)
    #expect(abs(analysis.frequency - 1000) < 1)
    #expect(analysis.snr > minimumSNR - 5, "two lossy generations for ogg/opus/mp3: \(analysis.snr) dB")
    #expect(result.tags.title == "Tïtle", "tags come through ffmpeg's mapping of each container")
}
