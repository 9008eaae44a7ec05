import Foundation
import S3
import TestSupport
import Testing

/// An input path that is not a regular file (a named FIFO, bash's `<(…)`, `/dev/stdin` on a pipe) is
/// read exactly once. It was opened twice (once to transcode, once to hash the source), so the two
/// readers split its bytes: a 3 s WAV became a 15 KB object with `source-size: 0` and exit 0.
@Suite(.serialized)
struct PipeInputTests {
    let server: S3TestServer
    let client: S3Client
    let bucket: String
    let folder: FixtureFolder
    let wav: URL
    let local: Data

    init() throws {
        (client, server) = try CommandMoto.client()
        bucket = try CommandMoto.bucket(client, "pipes")
        folder = try FixtureFolder()
        wav = folder.url.appendingPathComponent("in.wav")
        // 12 s: larger than any pipe buffer, so a second reader would certainly take some of it.
        try Data(FixtureFolder.repeatedWAV(WAVFixture(sampleRate: 44_100, channels: 2, frequency: 440), seconds: 12))
            .write(to: wav)
        let mp3 = folder.url.appendingPathComponent("local.mp3")
        let run = try CommandLineTool.run(
            [wav.path, mp3.path, "--quiet"], environment: CommandLineTool.environment(for: server))
        try #require(run.status == 0, "\(run.stderr)")
        local = try Data(contentsOf: mp3)
    }

    // The FIFO's writer is killed once the binary has exited: had the binary never opened the FIFO,
    // `cat` would block in open(2) forever and so would the test.
    @Test(
        "A FIFO, a <(…) path and /dev/stdin on a pipe: the same object as the file's run, no source fingerprint",
        arguments: [
            (
                "fifo",
                "rm -f \"$4\"; mkfifo \"$4\"; cat \"$1\" > \"$4\" & \"$2\" \"$4\" \"$3\" --quiet; status=$?; kill $! 2>/dev/null; wait; exit $status"
            ),
            ("process-substitution", "\"$2\" <(cat \"$1\") \"$3\" --quiet"),
            ("dev-stdin", "cat \"$1\" | \"$2\" /dev/stdin \"$3\" --quiet"),
        ])
    func pathThatIsAPipe(_ name: String, _ script: String) throws {
        let key = "\(name).mp3"
        let fifo = folder.url.appendingPathComponent("fifo").path
        let run = try Shell.run(
            script, [wav.path, try CommandLineTool.binary(), "s3://\(bucket)/\(key)", fifo],
            environment: CommandLineTool.environment(for: server), shell: "/bin/bash")
        try #require(run.status == 0, "\(name): \(run.stderr)")
        let object = try client.getObject(bucket: bucket, key: key).body
        #expect(object.count == local.count, "\(name): \(object.count) bytes, the file's run wrote \(local.count)")
        #expect(Data(object) == local, "\(name)")
        // Read once, like standard input: no fingerprint rather than a wrong one (`source-size: 0`).
        let head = try client.headObject(bucket: bucket, key: key)
        #expect(
            head.metadata["source-sha256"] == nil && head.metadata["source-size"] == nil, "\(name): \(head.metadata)")
    }
}
