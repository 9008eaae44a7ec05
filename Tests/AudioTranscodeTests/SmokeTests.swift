import AudioTranscode
import Foundation
import TestSupport
import Testing

@Test func smokeTranscodeToFile() throws {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let input = try dir.write(WAVFixture(frames: 44100).bytes(), to: "in.wav")
    let output = dir.file("out.mp3")
    let result = try Transcoder().transcode(from: try FileSource(path: input), to: try FileSink(path: output))
    print(result)
    let decoded = try decodeWithFFmpeg(output)
    print(decoded.frames, decoded.channels, decoded.sampleRate)
    #expect(decoded.frames == 44100)
}
