import AudioTranscode
import Foundation
import S3
import SigV4
import TestSupport
import Testing

/// `s3://bucket/key` as the input of the real binary, against moto with SigV4 checking on: the MP3
/// is byte for byte what the same WAV gives from a local file.
@Suite("S3 as input, through the binary, against moto", .serialized)
struct S3InputTests {
    let client: S3Client
    let server: S3TestServer
    let bucket: String
    let folder: FixtureFolder
    var environment: [String: String] { CommandLineTool.environment(for: server) }

    init() throws {
        (client, server) = try CommandMoto.client()
        bucket = try CommandMoto.bucket(client, "s3-input")
        folder = try FixtureFolder()
    }

    /// Writes `fixture` locally and puts the same bytes at `key`.
    func stage(_ fixture: WAVFixture, key: String) throws -> (path: String, bytes: [UInt8]) {
        let bytes = fixture.bytes()
        try folder.write(key, bytes)
        _ = try client.putObject(bucket: bucket, key: key, body: bytes)
        return (folder.url.appendingPathComponent(key).path, bytes)
    }

    func localRun(_ path: String, options: [String] = []) throws -> [UInt8] {
        let output = folder.url.appendingPathComponent("local-\(UUID().uuidString).mp3").path
        let run = try CommandLineTool.run([path, output, "--quiet"] + options, environment: environment)
        #expect(run.status == 0, "\(run.stderr)")
        return try Array(Data(contentsOf: URL(fileURLWithPath: output)))
    }

    static var withInfoAfterData: WAVFixture {
        var fixture = WAVFixture(
            encoding: .s24, container: .rf64, sampleRate: 48_000, channels: 2, frames: 96_000,
            info: [("INAM", "From S3"), ("IART", "Moto")])
        fixture.infoAfterData = true  // FFmpeg seeks past the data to read the tags, and back
        return fixture
    }

    @Test(
        "s3://… to a local file equals the local-file run byte for byte: RIFF, RF64 with tags after the data, VBR",
        arguments: [
            (WAVFixture(sampleRate: 44_100, channels: 2, frames: 200_000), [String]()),
            (S3InputTests.withInfoAfterData, []),
            (WAVFixture(encoding: .f32, container: .extensible, channels: 6, frames: 60_000), ["--vbr", "2"]),
        ])
    func toLocalFile(fixture: WAVFixture, options: [String]) throws {
        let key = "in/\(fixture.container.rawValue)-\(fixture.encoding.rawValue).wav"
        let (path, _) = try stage(fixture, key: key)
        let expected = try localRun(path, options: options)
        let output = folder.url.appendingPathComponent("from-s3.mp3").path
        let run = try CommandLineTool.run(
            ["s3://\(bucket)/\(key)", output, "--quiet"] + options, environment: environment)
        #expect(run.status == 0, "\(run.stderr)")
        let got = try Array(Data(contentsOf: URL(fileURLWithPath: output)))
        #expect(got.count == expected.count && got == expected)
        if fixture.infoAfterData {
            #expect(got.count > 10 && Array(got[0..<3]) == Array("ID3".utf8))
            // the tags were found by seeking
            #expect(String(decoding: got.prefix(400), as: UTF8.self).contains("From S3"))
        }
    }

    @Test("S3 to S3 in one command: the object equals the local run and carries the source's SHA-256")
    func s3ToS3() throws {
        let (path, bytes) = try stage(WAVFixture(sampleRate: 44_100, channels: 2, frames: 150_000), key: "in/song.wav")
        let expected = try localRun(path)
        let run = try CommandLineTool.run(
            ["s3://\(bucket)/in/song.wav", "s3://\(bucket)/out/song.mp3", "--json"],
            environment: environment)
        #expect(run.status == 0, "\(run.stderr)")
        let object = try client.getObject(bucket: bucket, key: "out/song.mp3")
        #expect(object.body == expected)
        let hash = bytes.withUnsafeBytes { PayloadHasher.hash($0) }
        #expect(object.attributes.metadata["source-sha256"] == hash)
        let report = try #require(try jsonObjects(run).first)
        #expect(report["input"] as? String == "s3://\(bucket)/in/song.wav")
        #expect(report["status"] as? String == "uploaded" && report["sourceSHA256"] as? String == hash)
    }

    @Test("probe s3://… describes the object")
    func probeObject() throws {
        let mp3 = try localRun(
            try stage(WAVFixture(sampleRate: 44_100, channels: 1, frames: 44_100), key: "p.wav").path)
        _ = try client.putObject(bucket: bucket, key: "music/x.mp3", body: mp3)
        let run = try CommandLineTool.run(["probe", "s3://\(bucket)/music/x.mp3", "--json"], environment: environment)
        #expect(run.status == 0, "\(run.stderr)")
        let result = try #require(try jsonObjects(run).first)
        #expect(result["container"] as? String == "mp3" && result["codec"] as? String == "mp3")
        #expect(result["channels"] as? Int == 1)
    }

    @Test(
        "a missing key exits 66 with one line naming s3://bucket/key; no output is created",
        arguments: ["local", "s3", "probe"])
    func missingKey(destination: String) throws {
        let input = "s3://\(bucket)/no/such.wav"
        let output = folder.url.appendingPathComponent("never.mp3").path
        let arguments: [String] =
            switch destination {
            case "local": [input, output]
            case "s3": [input, "s3://\(bucket)/never.mp3"]
            default: ["probe", input]
            }
        let run = try CommandLineTool.run(arguments, environment: environment)
        #expect(run.status == 66, "\(run.stderr)")
        let lines = run.stderr.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].contains(input), "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: output))
        #expect(try client.listAllObjects(bucket: bucket).allSatisfy { $0.key != "never.mp3" })
    }

    @Test(
        "rejected credentials exit 77; the secret appears nowhere",
        .enabled(if: S3TestServer.selectedBackend == .moto, "LocalStack accepts any secret on ordinary requests"))
    func rejectedCredentials() throws {
        _ = try stage(WAVFixture(frames: 1000), key: "denied.wav")
        var environment = environment
        environment["AWS_SECRET_ACCESS_KEY"] = "not-the-secret-s3-input"
        let run = try CommandLineTool.run(["s3://\(bucket)/denied.wav", "-", "-vv"], environment: environment)
        #expect(run.status == 77, "\(run.stderr)")
        #expect(!run.stderr.contains("not-the-secret-s3-input") && !run.stdout.contains("not-the-secret-s3-input"))
    }
}
