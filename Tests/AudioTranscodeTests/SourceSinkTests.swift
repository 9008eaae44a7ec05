import AudioTranscode
import Foundation
import TestSupport
import Testing

struct ObservedCase: CustomTestStringConvertible, Sendable {
    let name: String
    let fixture: WAVFixture
    let seekable: Bool
    var testDescription: String { name }
}

let observedCases: [ObservedCase] = {
    var trailingList = WAVFixture(frames: 30000, info: [("INAM", "after the data")])
    trailingList.infoAfterData = true
    return [
        ObservedCase(name: "plain file", fixture: WAVFixture(frames: 30000), seekable: true),
        ObservedCase(
            name: "LIST after the data (the demuxer seeks past the data and back)", fixture: trailingList,
            seekable: true),
        ObservedCase(
            name: "pipe", fixture: WAVFixture(frames: 30000, info: [("INAM", "x")], sizeFields: .zero), seekable: false),
    ]
}()

@Test(
    "ObservedSource shows the observer every byte of the source once, in order, however FFmpeg seeks",
    arguments: observedCases)
func observedSourceSeesEveryByte(_ c: ObservedCase) throws {
    let bytes = c.fixture.bytes()
    var seen: [UInt8] = []
    let source = RecordingSource(bytes, seekable: c.seekable)
    let observed = ObservedSource(source) { seen += $0 }
    let result = try Transcoder().transcode(from: observed, to: MemorySink())
    if c.fixture.infoAfterData {
        #expect(source.seeks.count >= 2, "the demuxer skipped the data to read the LIST chunk, then came back")
    }
    try observed.observeRemainder()
    #expect(seen == bytes)
    #expect(observed.observedCount == Int64(bytes.count))
    #expect(result.samplesIn == 30000)
    if c.fixture.infoAfterData { #expect(result.tags.title == "after the data") }
}

@Test("FileSource reads with pread and seeks; sizes and names are reported")
func fileSourceBasics() throws {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let path = try dir.write(Array(0..<200), to: "bytes")
    let source = try FileSource(path: path)
    #expect(source.size == 200 && source.isSeekable && source.name == path)
    var buffer = [UInt8](repeating: 0, count: 10)
    try source.seek(to: 190)
    #expect(try buffer.withUnsafeMutableBytes { try source.read(into: $0) } == 10)
    #expect(buffer == Array(190..<200))
    #expect(try buffer.withUnsafeMutableBytes { try source.read(into: $0) } == 0)
}

struct SinkRefused: Error, Equatable {}
struct SourceBroke: Error, Equatable {}

/// A sink that fails after `limit` bytes, like a full disk or a failed upload part.
final class FailingSink: OutputSink {
    let limit: Int
    var written = 0
    var aborted = false
    var finished = false
    init(limit: Int) { self.limit = limit }
    var rewritableWindow: Int64? { .max }
    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws {
        written += bytes.count
        if written > limit { throw SinkRefused() }
    }
    func finish() throws { finished = true }
    func abort() { aborted = true }
}

/// A source that fails after `limit` bytes, like a dropped connection.
final class FailingSource: ByteSource {
    let inner: RecordingSource
    let limit: Int
    var delivered = 0
    init(_ bytes: [UInt8], limit: Int) {
        inner = RecordingSource(bytes)
        self.limit = limit
    }
    var size: Int64? { inner.size }
    var isSeekable: Bool { true }
    var name: String { "s3://bucket/flaky.wav" }
    func seek(to offset: Int64) throws { try inner.seek(to: offset) }
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if delivered >= limit { throw SourceBroke() }
        let got = try inner.read(into: buffer)
        delivered += got
        return got
    }
}

@Test("A sink's own error comes back unchanged, and the sink is aborted, never finished")
func sinkErrorPropagates() throws {
    let sink = FailingSink(limit: 100_000)
    #expect(throws: SinkRefused()) {
        try Transcoder().transcode(from: RecordingSource(WAVFixture(frames: 441_000).bytes()), to: sink)
    }
    #expect(sink.aborted && !sink.finished)
}

@Test("A source's own error comes back unchanged, and the sink is aborted")
func sourceErrorPropagates() throws {
    let sink = MemorySink()
    #expect(throws: SourceBroke()) {
        try Transcoder().transcode(from: FailingSource(WAVFixture(frames: 441_000).bytes(), limit: 500_000), to: sink)
    }
    #expect(sink.aborted && !sink.finished)
}

/// A source whose seeks fail, like an S3 object whose ranged GET is refused.
final class SeekFailingSource: ByteSource {
    let inner: RecordingSource
    init(_ bytes: [UInt8]) { inner = RecordingSource(bytes) }
    var size: Int64? { inner.size }
    var isSeekable: Bool { true }
    var name: String { "s3://bucket/unseekable.wav" }
    func seek(to offset: Int64) throws { throw SourceBroke() }
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int { try inner.read(into: buffer) }
}

/// The WAV demuxer seeks past the data chunk to find a LIST chunk after it; a failed seek ends
/// that scan, not the open, so the open succeeds with the source's error recorded. The error comes
/// back unchanged, and the opened format context is freed (`Scripts/test.sh --sanitize address`
/// reported it as leaked before).
@Test("A source error during an open that still succeeded comes back unchanged; nothing is leaked")
func sourceErrorDuringSuccessfulOpen() throws {
    var fixture = WAVFixture(frames: 88_200, info: [(id: "INAM", value: "after the data")])
    fixture.infoAfterData = true
    let sink = MemorySink()
    #expect(throws: SourceBroke()) {
        try Transcoder().transcode(from: SeekFailingSource(fixture.bytes()), to: sink)
    }
    #expect(sink.aborted && !sink.finished && sink.bytes.isEmpty)
}

@Test("Cancellation stops between packets, removes the partial file and says so")
func cancellation() throws {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let input = try dir.write(WAVFixture(frames: 441_000).bytes(), to: "in.wav")
    var checks = 0
    let error = try #require(throws: TranscodeError.self) {
        try Transcoder().transcode(
            from: try FileSource(path: input), to: try FileSink(path: dir.file("out.mp3")),
            isCancelled: {
                checks += 1
                return checks > 20
            })
    }
    #expect(error.kind == .cancelled)
    #expect(error.message.contains("in.wav"))
    #expect(try dir.contents() == ["in.wav"])
}

@Test("Progress is reported about once a second of audio, in order, ending at the whole input")
func progressReports() throws {
    var reports: [TranscodeProgress] = []
    _ = try Transcoder().transcode(
        from: RecordingSource(WAVFixture(sampleRate: 8000, frames: 8000 * 5).bytes()), to: MemorySink(),
        progress: { reports.append($0) })
    #expect(reports.count >= 5 && reports.count <= 8)
    #expect(zip(reports, reports.dropFirst()).allSatisfy { $0.samplesDone <= $1.samplesDone })
    let last = try #require(reports.last)
    #expect(last.samplesDone == 40000 && last.secondsDone == 5)
    #expect(last.totalSeconds == 5 && last.fractionDone == 1)
}

@Test("FileSink: the path appears only at finish; abort leaves nothing; a device is written in place")
func fileSinkLifecycle() throws {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let path = dir.file("out.mp3")
    let sink = try FileSink(path: path)
    try [UInt8](repeating: 1, count: 10).withUnsafeBytes { try sink.write($0, at: 0) }
    try [UInt8](repeating: 2, count: 3).withUnsafeBytes { try sink.write($0, at: 2) }
    #expect(!FileManager.default.fileExists(atPath: path))
    #expect(try dir.contents().count == 1, "the hidden temporary file")
    try sink.finish()
    #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data([1, 1, 2, 2, 2, 1, 1, 1, 1, 1]))
    #expect(try dir.contents() == ["out.mp3"])

    let aborted = try FileSink(path: dir.file("other.mp3"))
    try [UInt8](repeating: 1, count: 10).withUnsafeBytes { try aborted.write($0, at: 0) }
    aborted.abort()
    #expect(try dir.contents() == ["out.mp3"])

    let device = try FileSink(path: "/dev/null")
    #expect(device.rewritableWindow == nil)
    _ = try Transcoder().transcode(from: RecordingSource(WAVFixture(frames: 1000).bytes()), to: device)
    #expect(FileManager.default.fileExists(atPath: "/dev/null"))
}
