import Foundation
import S3
import TestSupport
import Testing

/// Uploads through the real binary against SigV4-checking moto (and LocalStack): a VBR multipart
/// upload whose Xing/LAME frame is correct inside the stored object (part 1 uploaded last, after the
/// trailer patched it), and output smaller than one part going as one PutObject.
@Suite("Uploads through the binary: the header inside the object, one request for small output", .serialized)
struct UploadCommandTests {
    let server: S3TestServer
    let client: S3Client
    let bucket: String
    let folder: FixtureFolder

    init() throws {
        (client, server) = try CommandMoto.client()
        bucket = try CommandMoto.bucket(client, "issue4")
        folder = try FixtureFolder()
    }

    /// Noise under a tone, its level swinging over each second, so that VBR frame sizes really vary
    /// and `--vbr 0` makes about 250 kbps: `seconds` of 44.1 kHz stereo (one second generated,
    /// repeated behind a header that says so).
    static func variedWAV(seconds: Int) throws -> (bytes: [UInt8], frames: Int) {
        let rate = 44_100
        var one = WAVFixture(sampleRate: rate, channels: 2, frames: rate).bytes()
        var state: UInt32 = 0x1234_5678
        for frame in 0..<rate {
            let level = 0.05 + 0.6 * abs(sin(Double.pi * Double(frame) / Double(rate)))
            for channel in 0..<2 {
                state = state &* 1_664_525 &+ 1_013_904_223
                let noise = Double(Int32(bitPattern: state)) / Double(Int32.max)
                let tone = sin(2 * Double.pi * 440 * Double(frame) / Double(rate))
                let value = Int16(max(-32767, min(32767, 32767 * level * (0.7 * noise + 0.3 * tone))))
                let offset = 44 + (frame * 2 + channel) * 2
                one[offset] = UInt8(truncatingIfNeeded: value)
                one[offset + 1] = UInt8(truncatingIfNeeded: value >> 8)
            }
        }
        return (try FixtureFolder.repeatedWAV(one, seconds: seconds), rate * seconds)
    }

    @Test(
        "VBR over several parts: the Xing frame inside the stored object counts its frames and bytes, the object is the local run's bytes, and FFmpeg decodes every source sample"
    )
    func vbrHeaderInsideTheObject() throws {
        let (wav, sourceFrames) = try Self.variedWAV(seconds: 210)
        try folder.write("varied.wav", wav)
        let input = folder.url.appendingPathComponent("varied.wav").path
        let proxy = try RecordingProxy()
        defer { proxy.stop() }
        let run = try CommandLineTool.run(
            [input, "s3://\(bucket)/vbr.mp3", "--vbr", "0", "--part-size", "5M", "--json", "--quiet"],
            environment: proxy.environment(for: server))
        try #require(run.status == 0, "\(run.stderr)")
        let operations = proxy.requests.map(S3Operation.init)
        let parts = operations.filter { $0 == .uploadPart }.count
        #expect(parts >= 2, "\(operations)")
        #expect(operations.filter { $0 == .create }.count == 1 && operations.filter { $0 == .complete }.count == 1)
        #expect(try jsonObjects(run).first?["parts"] as? Int == parts)
        // Part 1 holds the header and goes last.
        let partNumbers = proxy.requests.filter { S3Operation($0) == .uploadPart }.compactMap { request in
            request.target.split(whereSeparator: { $0 == "?" || $0 == "&" }).first { $0.hasPrefix("partNumber=") }
                .flatMap { Int($0.dropFirst("partNumber=".count)) }
        }
        #expect(partNumbers.last == 1, "\(partNumbers)")

        let object = try client.getObject(bucket: bucket, key: "vbr.mp3").body
        let layout = MP3Layout(object)
        let xing = try #require(layout.xing, "no Xing/Info frame in the stored object")
        #expect(xing.tag == "Xing")
        #expect(xing.hasTOC)
        #expect(xing.frames == layout.frames.count - 1, "Xing says \(xing.frames.map(String.init) ?? "-") frames")
        let audioBytes = layout.frames.map(\.length).reduce(0, +)
        #expect(layout.id3Size + audioBytes == object.count, "frames do not reach the end of the object")
        #expect(xing.bytes == audioBytes)
        #expect(xing.musicLength == audioBytes)
        // The frames really vary (so this is a VBR header, not a CBR one named Xing).
        #expect(Set(layout.frames.dropFirst().map(\.bitrate)).count > 3)
        // Delay, the source's samples and padding fill the frames exactly.
        let delay = try #require(xing.delay)
        let padding = try #require(xing.padding)
        #expect(delay + sourceFrames + padding == (layout.frames.count - 1) * 1152)

        // The decoder trims delay and padding by that header: exactly the source's samples.
        let stored = folder.url.appendingPathComponent("stored.mp3")
        try Data(object).write(to: stored)
        #expect(try FFmpegCLI.decodedFrames(stored.path, channels: 2) == sourceFrames)

        // Byte for byte what a local-file run with the same options writes.
        let local = folder.url.appendingPathComponent("local.mp3")
        let localRun = try CommandLineTool.run(
            [input, local.path, "--vbr", "0", "--quiet"],
            environment: CommandLineTool.environment(for: server))
        try #require(localRun.status == 0, "\(localRun.stderr)")
        #expect(try Data(contentsOf: local) == Data(object))
        #expect(try client.listMultipartUploads(bucket: bucket).isEmpty)
    }

    @Test(
        "Output smaller than one part is one PutObject with Content-Length: no multipart request at all",
        arguments: [
            // 0.25 s: a few KB.
            (seconds: 0, partSize: "5M"),
            // About 4.8 MB at 320 kbps, just under the 5 MiB minimum part.
            (seconds: 120, partSize: "5M"),
            // About 6.4 MB: above 5 MiB, but below an 8 MiB part (no --max-memory: the default budget
            // is three parts of the size given).
            (seconds: 160, partSize: "8M"),
        ])
    func smallOutputIsOneRequest(_ seconds: Int, _ partSize: String) throws {
        let input = folder.url.appendingPathComponent("in-\(seconds).wav")
        if seconds == 0 {
            try Data(FixtureFolder.shortWAV(seed: 2).bytes()).write(to: input)
        } else {
            try Data(
                FixtureFolder.repeatedWAV(WAVFixture(sampleRate: 32_000, channels: 1, frequency: 330), seconds: seconds)
            )
            .write(to: input)
        }
        let proxy = try RecordingProxy()
        defer { proxy.stop() }
        let key = "one/\(seconds).mp3"
        let run = try CommandLineTool.run(
            [input.path, "s3://\(bucket)/\(key)", "--bitrate", "320", "--part-size", partSize, "-v"],
            environment: proxy.environment(for: server))
        try #require(run.status == 0, "\(run.stderr)")
        let requests = proxy.requests
        #expect(requests.map(S3Operation.init) == [.putObject], "\(requests.map(S3Operation.init))")
        // -v prints one line per S3 request: one, a PutObject.
        let lines = run.stderr.split(separator: "\n").filter { $0.hasPrefix("s3: ") }
        #expect(lines.count == 1 && lines.first?.hasPrefix("s3: PutObject PUT ") == true, "\(run.stderr)")
        let put = try #require(requests.first)
        #expect(put.header("content-length") == String(put.body.count))
        #expect(put.header("transfer-encoding") == nil)
        let object = try client.getObject(bucket: bucket, key: key).body
        #expect(object == put.body)
        if seconds > 0 { #expect(object.count > 4_000_000) }
        if partSize == "8M" { #expect(object.count > 5 << 20 && object.count < 8 << 20, "\(object.count) bytes") }
        // The single request carries the header too: an Info frame counting the object's frames.
        let layout = MP3Layout(object)
        #expect(layout.xing?.tag == "Info")
        #expect(layout.xing?.frames == layout.frames.count - 1)
    }
}

extension UploadCommandTests {
    @Test(
        "Standard input (a pipe) to S3 over several parts: the local run's bytes, a correct Info frame, no source fingerprint"
    )
    func pipeToS3() throws {
        let wav = folder.url.appendingPathComponent("piped.wav")
        try Data(FixtureFolder.repeatedWAV(WAVFixture(sampleRate: 32_000, channels: 1, frequency: 330), seconds: 160))
            .write(to: wav)
        let proxy = try RecordingProxy()
        defer { proxy.stop() }
        // `cat … |`: a real pipe, which cannot seek (a file given as stdin could).
        let script = "cat \"$1\" | \"$2\" - \"$3\" --bitrate 320 --quiet"
        let run = try Shell.run(
            script, [wav.path, try CommandLineTool.binary(), "s3://\(bucket)/piped.mp3"],
            environment: proxy.environment(for: server))
        try #require(run.status == 0, "\(run.stderr)")
        let operations = proxy.requests.map(S3Operation.init)
        #expect(operations.filter { $0 == .uploadPart }.count == 2 && operations.contains(.complete), "\(operations)")
        let object = try client.getObject(bucket: bucket, key: "piped.mp3").body
        let layout = MP3Layout(object)
        #expect(layout.xing?.tag == "Info")
        #expect(layout.xing?.frames == layout.frames.count - 1)
        let local = folder.url.appendingPathComponent("local.mp3")
        let localRun = try CommandLineTool.run(
            [wav.path, local.path, "--bitrate", "320", "--quiet"],
            environment: CommandLineTool.environment(for: server))
        try #require(localRun.status == 0, "\(localRun.stderr)")
        #expect(try Data(contentsOf: local) == Data(object))
        // A pipe can be read only once: no fingerprint (README, "Every object also records its source").
        let head = try client.headObject(bucket: bucket, key: "piped.mp3")
        #expect(head.metadata["source-sha256"] == nil && head.metadata["source-size"] == nil, "\(head.metadata)")
        #expect(head.contentType == "audio/mpeg")
    }

    @Test(
        "Part size and memory budget outside S3's limits: exit 64 before any request, one line naming the option",
        arguments: [
            (["--part-size", "4M"], "(--part-size 5M to 5G)"),
            (["--part-size", "6G"], "(--part-size 5M to 5G)"),
            (["--part-size", "lots"], "--part-size lots: give a size such as 5M"),
            (["--max-memory", "9M"], "needs at least 10 MiB; raise the memory budget (--max-memory)"),
            (
                ["--part-size", "8M", "--max-memory", "15M"],
                "needs at least 16 MiB; raise the memory budget (--max-memory)"
            ),
            (["--concurrency", "0"], "--concurrency must be at least 1"),
        ])
    func uploadBounds(_ arguments: [String], _ message: String) throws {
        try folder.writeWAV("short.wav", FixtureFolder.shortWAV(seed: 5))
        let proxy = try RecordingProxy()
        defer { proxy.stop() }
        let run = try CommandLineTool.run(
            [folder.url.appendingPathComponent("short.wav").path, "s3://\(bucket)/bounds.mp3"] + arguments,
            environment: proxy.environment(for: server))
        #expect(run.status == 64, "\(run.stderr)")
        #expect(run.stderr.split(separator: "\n").first?.contains(message) == true, "\(run.stderr)")
        #expect(proxy.requests.isEmpty, "\(proxy.requests.map(S3Operation.init))")
    }
}

/// `/bin/sh -c SCRIPT sh ARGUMENTS…` (or another shell), stderr to a file (no pipe to fill up).
enum Shell {
    static func run(
        _ script: String, _ arguments: [String], environment: [String: String],
        shell: String = "/bin/sh"
    ) throws -> (status: Int32, stderr: String) {
        let errors = FileManager.default.temporaryDirectory.appendingPathComponent("s3t-shell-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: errors) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: shell)
        process.arguments = ["-c", script, "sh"] + arguments
        process.environment = environment
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: errors)
        try process.run()
        process.waitUntilExit()
        return (process.terminationStatus, (try? String(contentsOf: errors, encoding: .utf8)) ?? "")
    }
}

/// The `ffmpeg` command: decodes with FFmpeg's own decoder (which trims the encoder delay and padding
/// that the LAME frame records).
enum FFmpegCLI {
    static func decodedFrames(_ path: String, channels: Int) throws -> Int {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "ffmpeg", "-nostdin", "-v", "error", "-i", path, "-f", "s16le", "-acodec", "pcm_s16le", "-",
        ]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CommandLineTool.Missing(
                description: "ffmpeg could not decode \(path) (exit \(process.terminationStatus))")
        }
        return data.count / (2 * channels)
    }
}
