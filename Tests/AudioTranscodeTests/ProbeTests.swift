import AudioTranscode
import Foundation
import TestSupport
import Testing

@Test("probe describes a WAV: container, codec, duration, rate, channels and layout, depth, bitrate, tags")
func probeWAV() throws {
    let fixture = WAVFixture(
        encoding: .s24, container: .extensible, sampleRate: 96000, channels: 6, frames: 96000 * 2,
        amplitude: 0.1, info: [("INAM", "Prøbe"), ("IART", "Ärtist")])
    let result = try probe(RecordingSource(fixture.bytes()))
    #expect(result.container == "wav")
    #expect(result.codec == "pcm_s24le")
    #expect(result.duration == 2.0)
    #expect(result.sampleRate == 96000)
    #expect(result.channels == 6)
    #expect(result.channelLayout == "5.1")
    #expect(result.bitsPerSample == 24)
    #expect(result.sampleFormat == "s32")
    #expect(result.bitRate == 96000 * 6 * 24)
    #expect(result.tags["title"] == "Prøbe" && result.tags["artist"] == "Ärtist")
}

@Test("probe describes our MP3, and its JSON round-trips")
func probeMP3() throws {
    let sink = MemorySink()
    _ = try Transcoder(options: EncodingOptions(tags: Tags(title: "T"))).transcode(
        from: RecordingSource(WAVFixture(frames: 44100).bytes()), to: sink)
    let result = try probe(RecordingSource(sink.bytes, name: "out.mp3"))
    #expect(result.container == "mp3" && result.codec == "mp3")
    #expect(result.sampleRate == 44100 && result.channels == 2 && result.channelLayout == "stereo")
    #expect(result.bitRate == 192_000)
    #expect(result.bitsPerSample == nil)
    #expect(result.tags["title"] == "T")
    let json = try JSONEncoder().encode(result)
    #expect(try JSONDecoder().decode(ProbeResult.self, from: json) == result)
}

@Test("probe of a WAV from a pipe: no duration, everything else")
func probePipe() throws {
    let readEnd = Pipes.feeding(WAVFixture(frames: 44100, sizeFields: .maximum).bytes())
    defer { close(readEnd) }
    let result = try probe(FileDescriptorSource(descriptor: readEnd, name: "-"))
    #expect(result.codec == "pcm_s16le" && result.channels == 2 && result.sampleRate == 44100)
}
