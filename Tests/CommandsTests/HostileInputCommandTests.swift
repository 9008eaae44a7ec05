import Basics
import Foundation
import S3
import TestSupport
import Testing

/// A sample of the hostile corpus through the real binary to an S3 destination on moto (SigV4
/// checked): exit 65, one line on stderr naming the input, and nothing in the bucket — no object,
/// no multipart upload left. The library test (`HostileInputTests`) runs every case; this checks the
/// command's end of it.
@Suite("hostile input through the binary to S3", .serialized)
struct HostileInputCommandTests {
    /// Every rejected family: truncations, lying sizes, absurd fields, self-pointing chunks, non-audio.
    static let sample: [HostileInput] = {
        let all = HostileCorpus.all().filter { $0.expected == .notAudio }
        let named = [
            "truncated at 20 of", "fmt size past the end", "junk chunk past the end", "65535 channels",
            "sample rate 0", "sample rate 100 MHz", "sample rate 1 Hz", "65535 bits per sample",
            "chunk pointing at itself", "LIST pointing at itself", "empty file", "text", "HTML error page",
            "zeros", "random bytes", "ELF header",
        ]
        return named.map { name in all.first { $0.name.hasPrefix(name) }! }
    }()

    @Test("exit 65, one line naming the input, no object and no multipart upload", arguments: sample)
    func rejectedUploadsNothing(_ input: HostileInput) throws {
        let (client, server) = try CommandMoto.client()
        let bucket = try CommandMoto.bucket(client, "hostile")
        let folder = try FixtureFolder()
        try folder.write("hostile.wav", input.bytes)
        let path = folder.url.appendingPathComponent("hostile.wav").path

        let started = Timestamp()
        let run = try CommandLineTool.run(
            [path, "s3://\(bucket)/out.mp3"], environment: CommandLineTool.environment(for: server))
        #expect(Timestamp().timeIntervalSince(started) < 30)
        #expect(run.status == 65, "\(input.name): \(run.stderr)")
        let lines = run.stderr.split(separator: "\n", omittingEmptySubsequences: true)
        #expect(lines.count == 1 && lines[0].contains(path), "\(input.name): \(run.stderr)")
        #expect(try client.listAllObjects(bucket: bucket).isEmpty)
        #expect(try client.listMultipartUploads(bucket: bucket).isEmpty)
    }
}

/// SIGPIPE is ignored: a reader of standard output that goes away makes the write fail, and the
/// command exits 74 with one line instead of dying of the signal.
@Suite("a closed standard output")
struct BrokenPipeTests {
    @Test("s3transcode in.wav - | head -c 100: exit 74, one line")
    func headClosesThePipe() throws {
        let folder = try FixtureFolder()
        let wav = try FixtureFolder.repeatedWAV(
            WAVFixture(sampleRate: 44_100, channels: 2, frames: 44_100), seconds: 30)
        try folder.write("in.wav", wav)
        let errors = folder.url.appendingPathComponent("err")
        _ = FileManager.default.createFile(atPath: errors.path, contents: nil)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: try CommandLineTool.binary())
        process.arguments = [folder.url.appendingPathComponent("in.wav").path, "-"]
        process.environment = CommandLineTool.bareEnvironment()
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = try FileHandle(forWritingTo: errors)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // What `head -c 100` does: read 100 bytes, then close.
        var got = Data()
        while got.count < 100, let chunk = try pipe.fileHandleForReading.read(upToCount: 100 - got.count),
            !chunk.isEmpty
        {
            got += chunk
        }
        try pipe.fileHandleForReading.close()
        process.waitUntilExit()

        #expect(got.count == 100)
        #expect(process.terminationReason == .exit, "killed by signal \(process.terminationStatus)")
        #expect(process.terminationStatus == 74)
        let stderr = try String(contentsOf: errors, encoding: .utf8)
        let lines = stderr.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].contains("Broken pipe"), "\(stderr)")
    }
}
