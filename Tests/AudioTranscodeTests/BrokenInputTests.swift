import AudioTranscode
import Foundation
import TestSupport
import Testing

struct BrokenInput: CustomTestStringConvertible, Sendable {
    let name: String
    let bytes: [UInt8]
    let kind: TranscodeError.Kind
    var testDescription: String { name }
}

let brokenInputs: [BrokenInput] = {
    let good = WAVFixture(frames: 4000).bytes()
    return [
        BrokenInput(name: "empty file", bytes: [], kind: .notAudio),
        BrokenInput(
            name: "text file", bytes: Array("Hello, this is not audio at all.\nJust text.\n".utf8), kind: .notAudio),
        BrokenInput(name: "truncated header", bytes: Array(good.prefix(30)), kind: .notAudio),
        BrokenInput(
            name: "no data chunk", bytes: WAVFixture(frames: 4000, omitsDataChunk: true).bytes(), kind: .notAudio),
        BrokenInput(name: "zero channels", bytes: WAVFixture(frames: 4000, headerChannels: 0).bytes(), kind: .notAudio),
        BrokenInput(name: "empty data chunk", bytes: WAVFixture(frames: 0).bytes(), kind: .notAudio),
        BrokenInput(
            name: "random bytes", bytes: (0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 7) },
            kind: .notAudio),
    ]
}()

@Test("A broken input fails with its kind, a one-line message naming it, and leaves no output", arguments: brokenInputs)
func brokenInputFails(_ input: BrokenInput) throws {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let path = try dir.write(input.bytes, to: "broken.wav")
    let output = dir.file("out.mp3")
    let error = try #require(throws: TranscodeError.self) {
        try Transcoder().transcode(from: try FileSource(path: path), to: try FileSink(path: output))
    }
    #expect(error.kind == input.kind)
    #expect(error.message.hasPrefix(path + ": "))
    #expect(!error.message.contains("\n"))
    #expect(try dir.contents() == ["broken.wav"], "no output, no temporary file")
    // probe agrees, except for a valid header with no samples after it, which it describes.
    if input.name != "empty data chunk" {
        #expect(throws: TranscodeError.self) { try probe(try FileSource(path: path)) }
    }
}

@Test("A missing input and a directory are input errors (66)")
func missingAndDirectoryInputs() throws {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let missing = try #require(throws: TranscodeError.self) { try FileSource(path: dir.file("nope.wav")) }
    #expect(missing.kind == .inputUnavailable)
    #expect(missing.message.contains("nope.wav") && missing.message.contains("no such file"))
    let directory = try #require(throws: TranscodeError.self) { try FileSource(path: dir.path) }
    #expect(directory.kind == .inputUnavailable)
    #expect(directory.message.contains("directory"))
    #expect(try dir.contents().isEmpty)
}

@Test("An output that cannot be created is an output error (73)")
func uncreatableOutput() throws {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let noDirectory = try #require(throws: TranscodeError.self) { try FileSink(path: dir.file("missing/out.mp3")) }
    #expect(noDirectory.kind == .outputUnavailable)
    #expect(noDirectory.message.contains("missing/out.mp3"))
    let isDirectory = try #require(throws: TranscodeError.self) { try FileSink(path: dir.path) }
    #expect(isDirectory.kind == .outputUnavailable)
}

@Test("A failed transcode leaves an existing output file untouched")
func existingOutputSurvivesFailure() throws {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let output = try dir.write(Array("previous".utf8), to: "out.mp3")
    let input = try dir.write(Array("not audio".utf8), to: "in.wav")
    #expect(throws: TranscodeError.self) {
        try Transcoder().transcode(from: try FileSource(path: input), to: try FileSink(path: output))
    }
    #expect(try String(contentsOfFile: output, encoding: .utf8) == "previous")
    #expect(try dir.contents() == ["in.wav", "out.mp3"])
}

@Test(
    "Bad options are usage errors (64) and touch nothing",
    arguments: [
        EncodingOptions(bitrate: .vbr(quality: 10)), EncodingOptions(bitrate: .cbr(kbps: 500)),
        EncodingOptions(bitrate: .abr(kbps: 4)), EncodingOptions(algorithmQuality: -1),
        EncodingOptions(channels: 3), EncodingOptions(sampleRate: 0),
    ])
func invalidOptions(_ options: EncodingOptions) throws {
    let sink = MemorySink()
    let error = try #require(throws: TranscodeError.self) {
        try Transcoder(options: options).transcode(from: RecordingSource(WAVFixture(frames: 100).bytes()), to: sink)
    }
    #expect(error.kind == .invalidOptions)
    #expect(sink.bytes.isEmpty && sink.aborted)
}
