import AudioTranscode
import Foundation
import TestSupport
import Testing

@Test(
    "WAV from a pipe (standard input), whatever its header's size fields say",
    arguments: [
        WAVFixture.SizeFields.exact, .zero, .maximum,
    ])
func wavFromPipe(_ sizes: WAVFixture.SizeFields) throws {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let fixture = WAVFixture(
        sampleRate: 44100, channels: 2, frames: 30000, info: [("INAM", "piped")], sizeFields: sizes)
    let readEnd = Pipes.feeding(fixture.bytes())
    defer { close(readEnd) }
    let output = dir.file("out.mp3")
    var warnings: [String] = []
    let result = try Transcoder().transcode(
        from: FileDescriptorSource(descriptor: readEnd, name: "-"), to: try FileSink(path: output),
        warning: { warnings.append($0) })
    #expect(result.samplesIn == 30000)
    #expect(warnings.isEmpty)
    #expect(result.tags.title == "piped")
    #expect(try decodeWithFFmpeg(output).frames == 30000)
}

@Test(
    "Streaming size fields in a seekable file read to the end without a warning",
    arguments: [
        WAVFixture.SizeFields.zero, .maximum,
    ])
func streamingSizesInFile(_ sizes: WAVFixture.SizeFields) throws {
    var warnings: [String] = []
    let result = try Transcoder().transcode(
        from: RecordingSource(WAVFixture(frames: 30000, sizeFields: sizes).bytes()), to: MemorySink(),
        warning: { warnings.append($0) })
    #expect(result.samplesIn == 30000)
    #expect(warnings.isEmpty)
}

@Test("MP3 to a pipe (standard output): plain frames, no Xing/Info frame, as ffmpeg does")
func mp3ToPipe() throws {
    let fixture = WAVFixture(frames: 30000)
    let (writeEnd, collect) = Pipes.draining()
    let result = try Transcoder().transcode(
        from: RecordingSource(fixture.bytes()), to: FileDescriptorSink(descriptor: writeEnd, name: "-"))
    let bytes = collect()
    #expect(Int64(bytes.count) == result.bytesWritten)
    let layout = MP3Layout(bytes)
    #expect(layout.xing == nil)
    #expect(layout.frames.count == Int(result.frames))
    #expect(layout.id3Size + layout.frames.map(\.length).reduce(0, +) == bytes.count)
}

@Test("Pipe in, pipe out")
func pipeToPipe() throws {
    let readEnd = Pipes.feeding(WAVFixture(encoding: .f32, frames: 20000, sizeFields: .maximum).bytes())
    defer { close(readEnd) }
    let (writeEnd, collect) = Pipes.draining()
    let result = try Transcoder(options: EncodingOptions(bitrate: .vbr(quality: 4)))
        .transcode(
            from: FileDescriptorSource(descriptor: readEnd, name: "-"),
            to: FileDescriptorSink(descriptor: writeEnd, name: "-"))
    #expect(result.samplesIn == 20000)
    #expect(MP3Layout(collect()).frames.count == Int(result.frames))
}

struct Lie: CustomTestStringConvertible, Sendable {
    let name: String
    let fixture: WAVFixture
    let samples: Int64
    let seekable: Bool
    var testDescription: String { name }
}

let lies: [Lie] = [
    Lie(
        name: "data size past the end of the file",
        fixture: WAVFixture(frames: 20000, sizeFields: .overstated(by: 40000)), samples: 20000, seekable: true),
    Lie(
        name: "data size past the end, from a pipe",
        fixture: WAVFixture(frames: 20000, sizeFields: .overstated(by: 40000)), samples: 20000, seekable: false),
    Lie(
        name: "truncated last sample (s16 stereo, 1 byte short)", fixture: WAVFixture(frames: 20000, truncatedBytes: 1),
        samples: 19999, seekable: true),
    Lie(
        name: "truncated last sample (s24 5.1, 7 bytes short)",
        fixture: WAVFixture(encoding: .s24, channels: 6, frames: 20000, amplitude: 0.15, truncatedBytes: 7),
        samples: 19999, seekable: true),
]

@Test("A header that lies: transcode what is there and warn exactly once", arguments: lies)
func headerLies(_ lie: Lie) throws {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let output = dir.file("out.mp3")
    var warnings: [String] = []
    let result = try Transcoder().transcode(
        from: RecordingSource(lie.fixture.bytes(), seekable: lie.seekable, name: "liar.wav"),
        to: try FileSink(path: output), warning: { warnings.append($0) })
    #expect(result.samplesIn == lie.samples)
    #expect(try decodeWithFFmpeg(output).frames == Int(lie.samples))
    #expect(warnings.count == 1, "\(warnings)")
    #expect(warnings.first?.hasPrefix("liar.wav: ") == true)
    #expect(result.warnings == warnings)
}
