import Basics
import Foundation
import HTTPClient
import S3
import SigV4
import Synchronization
import TestSupport
import Testing

/// Object options through the real binary against SigV4-checking moto (and LocalStack), on both
/// upload paths: a single PutObject (output smaller than one part) and a multipart upload, whose
/// CreateMultipartUpload carries the object's headers. Every option is read back from the stored
/// object (HEAD, GetObjectTagging, GetObjectAcl); `--expected-bucket-owner`, which moto ignores, is
/// checked on the wire through a recording proxy.
@Suite("Object options end to end", .serialized)
struct ObjectOptionsTests {
    enum Path: String, CaseIterable, CustomTestStringConvertible {
        case single, multipart
        var testDescription: String { rawValue }
    }

    let server: S3TestServer
    let client: S3Client
    let bucket: String
    let folder: FixtureFolder

    init() throws {
        (client, server) = try CommandMoto.client()
        bucket = try CommandMoto.bucket(client, "objopts")
        folder = try FixtureFolder()
    }

    /// The input of `path`: 0.25 s (one small PutObject), or 160 s of 32 kHz mono that makes about
    /// 6.4 MB of MP3 at 320 kbps (two 5 MiB parts).
    func input(_ path: Path) throws -> String {
        switch path {
        case .single:
            try folder.writeWAV("short.wav", FixtureFolder.shortWAV(seed: 1))
            return folder.url.appendingPathComponent("short.wav").path
        case .multipart:
            let tone = WAVFixture(sampleRate: 32_000, channels: 1, frequency: 330)
            try folder.write("long.wav", FixtureFolder.repeatedWAV(tone, seconds: 160))
            return folder.url.appendingPathComponent("long.wav").path
        }
    }

    static let objectOptions = [
        "--content-type", "audio/x-s3t-test",
        "--cache-control", "public, max-age=86400",
        "--content-disposition", "attachment; filename=\"take 1.mp3\"",
        "--metadata", "Artist=The Band",
        "--metadata", "album-name=Live at 127.0.0.1",
        "--storage-class", "STANDARD_IA",
        "--acl", "public-read",
        "--tagging", "project=s3t&stage=raw%20mix",
        // moto's account; moto does not check it, so the proxy's log is what shows it was sent.
        "--expected-bucket-owner", "123456789012",
    ]

    @Test(
        "Every object option is on the stored object (HEAD, tagging, ACL) and on the request that creates it",
        arguments: Path.allCases)
    func everyOption(_ path: Path) throws {
        let input = try input(path)
        let key = "opts/\(path.rawValue).mp3"
        let proxy = try RecordingProxy()
        defer { proxy.stop() }
        let run = try CommandLineTool.run(
            [input, "s3://\(bucket)/\(key)", "--bitrate", "320", "--sse", "AES256", "--json"] + Self.objectOptions,
            environment: proxy.environment(for: server))
        try #require(run.status == 0, "\(run.stderr)")

        let head = try client.headObject(bucket: bucket, key: key)
        #expect(head.contentType == "audio/x-s3t-test")
        #expect(head.header("cache-control") == "public, max-age=86400")
        #expect(head.header("content-disposition") == "attachment; filename=\"take 1.mp3\"")
        #expect(head.header("x-amz-storage-class") == "STANDARD_IA")
        #expect(head.header("x-amz-server-side-encryption") == "AES256")
        #expect(head.header("x-amz-tagging-count") == "2")
        // Keys are stored lowercased; the source's fingerprint is recorded on every object.
        let source = try Data(contentsOf: URL(fileURLWithPath: input))
        let sha256 = MessageDigest.hash(.sha256, source).map { String(format: "%02x", $0) }.joined()
        #expect(
            head.metadata == [
                "artist": "The Band", "album-name": "Live at 127.0.0.1",
                "source-sha256": sha256, "source-size": String(source.count),
            ])
        #expect(try jsonObjects(run).first?["sourceSHA256"] as? String == sha256)

        let tags = try MotoReads.tags(server, bucket: bucket, key: key)
        #expect(tags == ["project": "s3t", "stage": "raw mix"])
        let acl = try MotoReads.subresource(server, bucket: bucket, key: key, "acl")
        #expect(acl.contains("http://acs.amazonaws.com/groups/global/AllUsers</URI>"), "\(acl)")
        #expect(acl.contains("<Permission>READ</Permission>"), "\(acl)")

        // The request that creates the object carries every header; the object's bytes went with Content-MD5.
        let requests = proxy.requests
        let creating = requests.filter { [.putObject, .create].contains(S3Operation($0)) }
        try #require(creating.count == 1, "\(requests.map(S3Operation.init))")
        #expect(S3Operation(creating[0]) == (path == .single ? .putObject : .create))
        let sent = creating[0]
        for (name, value) in [
            ("content-type", "audio/x-s3t-test"), ("cache-control", "public, max-age=86400"),
            ("content-disposition", "attachment; filename=\"take 1.mp3\""),
            ("x-amz-meta-artist", "The Band"), ("x-amz-meta-album-name", "Live at 127.0.0.1"),
            ("x-amz-meta-source-sha256", sha256), ("x-amz-storage-class", "STANDARD_IA"),
            ("x-amz-server-side-encryption", "AES256"), ("x-amz-acl", "public-read"),
            ("x-amz-tagging", "project=s3t&stage=raw%20mix"), ("x-amz-expected-bucket-owner", "123456789012"),
        ] {
            #expect(sent.header(name) == value, "\(name) on \(S3Operation(sent))")
        }
        // The header is signed, so moto's signature check covers it.
        #expect(sent.header("authorization")?.contains("x-amz-expected-bucket-owner") == true)
        for body in requests where S3Operation(body) == .putObject || S3Operation(body) == .uploadPart {
            #expect(body.header("content-md5") == Data(MessageDigest.hash(.md5, body.body)).base64EncodedString())
        }
        if path == .multipart {
            #expect(requests.filter { S3Operation($0) == .uploadPart }.count == 2)
            #expect(requests.filter { S3Operation($0) == .complete }.count == 1)
            // Parts are not the object: they carry none of its headers.
            for part in requests where S3Operation(part) == .uploadPart {
                #expect(part.header("x-amz-acl") == nil && part.header("x-amz-meta-artist") == nil)
            }
        }
        #expect(try client.listMultipartUploads(bucket: bucket).isEmpty)
    }

    @Test(
        "--sse aws:kms with a key ID: stored with both, and the ETag check is off (ETags under KMS are not MD5s)",
        arguments: [(Path.single, RecordingProxy.FakeETags.all), (.multipart, .all), (.multipart, .objectOnly)])
    func kms(_ path: Path, _ fakeETags: RecordingProxy.FakeETags) throws {
        let input = try input(path)
        // The proxy turns the ETags S3 answers (every one, or the object's only) into ones that are not
        // MD5s, as S3 does under SSE-KMS (and turns part ETags back on their way into Complete).
        let proxy = try RecordingProxy(fakeETags: fakeETags)
        defer { proxy.stop() }
        let key = "kms/\(path.rawValue).mp3"
        let run = try CommandLineTool.run(
            [
                input, "s3://\(bucket)/\(key)", "--bitrate", "320", "--sse", "aws:kms", "--sse-kms-key-id",
                "alias/s3t-test",
                "--json", "--quiet",
            ],
            environment: proxy.environment(for: server))
        try #require(run.status == 0, "\(run.stderr)")
        let head = try client.headObject(bucket: bucket, key: key)
        #expect(head.header("x-amz-server-side-encryption") == "aws:kms")
        // moto echoes the key id as sent; S3 (and LocalStack) answer the key's ARN.
        let keyId = head.header("x-amz-server-side-encryption-aws-kms-key-id") ?? ""
        #expect(
            keyId == "alias/s3t-test" || (keyId.hasPrefix("arn:aws:kms:") && keyId.hasSuffix(":key/alias/s3t-test")),
            "\(keyId)")
        let reported = try #require(try jsonObjects(run).first?["etag"] as? String)
        #expect(
            reported.trimmingCharacters(in: ["\""]) != head.etag?.trimmingCharacters(in: ["\""]),
            "the proxy did not change the ETag, so this test proves nothing")
        #expect(proxy.requests.contains { S3Operation($0) == (path == .single ? .putObject : .complete) })

        // The same answers without KMS: the check is on, the run fails and leaves nothing.
        let checkedKey = "kms/checked-\(path.rawValue).mp3"
        let checked = try CommandLineTool.run(
            [input, "s3://\(bucket)/\(checkedKey)", "--bitrate", "320", "--sse", "AES256", "--quiet"],
            environment: proxy.environment(for: server))
        // The README: 69, a remote service failed (S3 error, network, checksum mismatch).
        #expect(checked.status == 69, "\(checked.stderr)")
        #expect(checked.stderr.contains("ETag"), "\(checked.stderr)")
        // Parts are checked one by one; the object after Complete (then deleted, never aborted).
        let objectLevel = path == .single || fakeETags == .objectOnly
        #expect(
            checked.stderr.contains(objectLevel ? "the object was deleted" : "S3 answered part "), "\(checked.stderr)")
        #expect(checked.stderr.split(separator: "\n").count == 1, "\(checked.stderr)")
        #expect(throws: (any Error).self) { try client.headObject(bucket: bucket, key: checkedKey) }
        #expect(try client.listMultipartUploads(bucket: bucket).isEmpty)
    }

    /// As on Amazon S3 (`--store aws`: the proxy's 127.0.0.1 is otherwise an unknown store, which
    /// gets Content-MD5 only by default).
    @Test(
        "The full-object CRC32 is sent (PutObject; Create and Complete as FULL_OBJECT) and checked against S3's answer",
        arguments: Path.allCases)
    func fullObjectCRC32(_ path: Path) throws {
        let input = try input(path)
        let proxy = try RecordingProxy()
        defer { proxy.stop() }
        let key = "crc/\(path.rawValue).mp3"
        let run = try CommandLineTool.run(
            [input, "s3://\(bucket)/\(key)", "--bitrate", "320", "--json", "--quiet", "--store", "aws"],
            environment: proxy.environment(for: server))
        try #require(run.status == 0, "\(run.stderr)")
        let object = try client.getObject(bucket: bucket, key: key).body
        let crc = CRC32.base64(object)
        let requests = proxy.requests
        switch path {
        case .single:
            let put = try #require(requests.first { S3Operation($0) == .putObject })
            #expect(put.header("x-amz-checksum-crc32") == crc)
        case .multipart:
            let create = try #require(requests.first { S3Operation($0) == .create })
            #expect(create.header("x-amz-checksum-algorithm") == "CRC32")
            #expect(create.header("x-amz-checksum-type") == "FULL_OBJECT")
            let complete = try #require(requests.first { S3Operation($0) == .complete })
            #expect(complete.header("x-amz-checksum-crc32") == crc)
            #expect(complete.header("x-amz-checksum-type") == "FULL_OBJECT")
            // Each part carries its own CRC32 too.
            for part in requests where S3Operation(part) == .uploadPart {
                #expect(part.header("x-amz-checksum-crc32") == CRC32.base64(part.body))
            }
        }
        // --json reports it as hex.
        let reported = try #require(try jsonObjects(run).first?["checksumCRC32"] as? String)
        #expect(UInt32(reported, radix: 16) == CRC32.value(object))

        // S3 answering with the same CRC32 (moto sends none, the proxy adds what S3 would): accepted.
        let agreeing = try RecordingProxy(crc32Answers: .echo)
        defer { agreeing.stop() }
        let agreed = try CommandLineTool.run(
            [input, "s3://\(bucket)/crc/agreed-\(path.rawValue).mp3", "--bitrate", "320", "--quiet", "--store", "aws"],
            environment: agreeing.environment(for: server))
        #expect(agreed.status == 0, "\(agreed.stderr)")

        // S3 answering another CRC32 for the object: an error, never a warning, and nothing is left.
        let disagreeing = try RecordingProxy(crc32Answers: .otherForTheObject)
        defer { disagreeing.stop() }
        let badKey = "crc/bad-\(path.rawValue).mp3"
        let bad = try CommandLineTool.run(
            [input, "s3://\(bucket)/\(badKey)", "--bitrate", "320", "--quiet", "--store", "aws"],
            environment: disagreeing.environment(for: server))
        #expect(bad.status == 69, "\(bad.stderr)")
        #expect(bad.stderr.contains("CRC32"), "\(bad.stderr)")
        #expect(bad.stderr.split(separator: "\n").count == 1, "\(bad.stderr)")
        #expect(throws: (any Error).self) { try client.headObject(bucket: bucket, key: badKey) }
        #expect(try client.listMultipartUploads(bucket: bucket).isEmpty)
    }

    @Test("batch applies the object options to every object, each with its own source's fingerprint")
    func batchAppliesOptions() throws {
        let sources = try folder.writeShortWAVs(3)
        let run = try CommandLineTool.run(
            [
                "batch", folder.path, "s3://\(bucket)/batch", "--content-type", "audio/x-batch", "--cache-control",
                "no-cache",
                "--metadata", "Collection=Tapes", "--tagging", "origin=batch", "--storage-class", "STANDARD_IA",
                "--quiet",
            ],
            environment: CommandLineTool.environment(for: server))
        try #require(run.status == 0, "\(run.stderr)")
        var hashes: Set<String> = []
        for source in sources {
            let key = "batch/" + source.dropLast(".wav".count) + ".mp3"
            let head = try client.headObject(bucket: bucket, key: key)
            #expect(head.contentType == "audio/x-batch", "\(key)")
            #expect(head.header("cache-control") == "no-cache", "\(key)")
            #expect(head.header("x-amz-storage-class") == "STANDARD_IA", "\(key)")
            #expect(head.header("x-amz-tagging-count") == "1", "\(key)")
            #expect(head.metadata["collection"] == "Tapes", "\(key)")
            let bytes = try Data(contentsOf: folder.url.appendingPathComponent(source))
            let sha256 = MessageDigest.hash(.sha256, bytes).map { String(format: "%02x", $0) }.joined()
            #expect(head.metadata["source-sha256"] == sha256, "\(key)")
            hashes.insert(sha256)
        }
        #expect(hashes.count == sources.count)
    }

    @Test(
        "To a presigned PUT URL (ours, which signs only host): the plain headers are stored; an x-amz-* option is refused before the PUT"
    )
    func presignedDestination() throws {
        // Presigned requests need the moto without signature checks (see FACTS).
        var environment = CommandLineTool.environment(for: server)
        environment["AWS_ENDPOINT_URL_S3"] = server.noAuthEndpoint
        let noAuth = S3Client(
            configuration: .init(region: server.region, endpoint: S3Endpoint(custom: server.noAuthEndpoint)),
            transport: CommandMoto.transport,
            credentials: .fixed(Credentials(accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey)))
        let bucket = S3TestServer.uniqueBucketName("objopts-presigned")
        try noAuth.createBucket(bucket)
        func presign(_ key: String) throws -> String {
            let run = try CommandLineTool.run(
                ["presign", "s3://\(bucket)/\(key)", "--method", "PUT", "--expires", "15m"],
                environment: environment)
            try #require(run.status == 0, "\(run.stderr)")
            return run.stdout.trimmingCharacters(in: .newlines)
        }
        let input = try input(.single)
        let run = try CommandLineTool.run(
            [
                input, try presign("plain.mp3"), "--content-type", "audio/x-presigned", "--cache-control", "no-store",
                "--content-disposition", "inline", "--quiet",
            ],
            environment: environment)
        try #require(run.status == 0, "\(run.stderr)")
        let head = try noAuth.headObject(bucket: bucket, key: "plain.mp3")
        #expect(head.contentType == "audio/x-presigned")
        #expect(head.header("cache-control") == "no-store" && head.header("content-disposition") == "inline")
        // The URL cannot sign a hash nobody knew when it was made.
        #expect(head.metadata.isEmpty, "\(head.metadata)")

        for option in [
            ["--metadata", "artist=x"], ["--storage-class", "STANDARD_IA"], ["--sse", "AES256"], ["--acl", "private"],
            ["--tagging", "a=1"], ["--expected-bucket-owner", "123456789012"],
        ] {
            let key = "refused-\(option[0].dropFirst(2)).mp3"
            let refused = try CommandLineTool.run([input, try presign(key)] + option, environment: environment)
            #expect(refused.status == 64, "\(option): \(refused.stderr)")
            #expect(refused.stderr.contains("the presigned URL does not sign x-amz-"), "\(option): \(refused.stderr)")
            #expect(refused.stderr.split(separator: "\n").count == 1, "\(option): \(refused.stderr)")
            #expect(!refused.stderr.contains("X-Amz-Signature"))
            #expect(throws: (any Error).self) { try noAuth.headObject(bucket: bucket, key: key) }
        }
    }

    @Test("Without object options: Content-Type audio/mpeg, the source's fingerprint, nothing else of ours")
    func defaults() throws {
        let input = try input(.single)
        let run = try CommandLineTool.run(
            [input, "s3://\(bucket)/plain.mp3", "--quiet"],
            environment: CommandLineTool.environment(for: server))
        try #require(run.status == 0, "\(run.stderr)")
        let head = try client.headObject(bucket: bucket, key: "plain.mp3")
        #expect(head.contentType == "audio/mpeg")
        #expect(Set(head.metadata.keys) == ["source-sha256", "source-size"])
        #expect(head.header("cache-control") == nil && head.header("content-disposition") == nil)
        #expect(head.header("x-amz-tagging-count") == nil)
    }

    /// Header values S3 cannot take as they are: refused before any request, exit 64, one line naming the option.
    static let refused: [(arguments: [String], message: String)] = [
        (["--metadata", "title=Café"], "--metadata title: S3 metadata is printable US-ASCII only"),
        (
            ["--metadata", "note=a\r\nx-amz-acl: public-read"],
            "--metadata note: S3 metadata is printable US-ASCII only"
        ),
        (["--metadata", "Tïtle=x"], "a key is ASCII letters, digits and - _ . only"),
        (["--metadata", "two words=x"], "a key is ASCII letters, digits and - _ . only"),
        (["--metadata", "Take=1", "--metadata", "take=2"], "--metadata take is given twice"),
        (["--metadata", "source-sha256=0"], "--metadata source-sha256: s3transcode records this key itself"),
        (["--metadata", "=x"], "give KEY=VALUE"),
        (
            ["--metadata", "notes=" + String(repeating: "n", count: 1_950)],
            "--metadata: 1955 bytes of keys and values; S3 takes 2 KB of metadata and s3transcode's source-sha256 and source-size use 108 of it, so at most 1940 remain"
        ),
        (["--metadata", "novalue"], "give KEY=VALUE"),
        (
            ["--cache-control", "max-age=1\nx-amz-acl: public-read"],
            "--cache-control: S3 takes printable US-ASCII only"
        ),
        (
            ["--content-disposition", "attachment; filename=\"Señor.mp3\""],
            "--content-disposition: S3 takes printable US-ASCII only"
        ),
        (["--content-type", "audio/mpeg\r"], "--content-type: S3 takes printable US-ASCII only"),
        (["--tagging", "k=\u{7}"], "--tagging: S3 takes printable US-ASCII only"),
        (["--sse", "AES128"], "--sse AES128: use AES256 or aws:kms"),
        (["--sse-kms-key-id", "alias/x"], "--sse-kms-key-id goes with --sse aws:kms"),
    ]

    @Test(
        "Header values S3 cannot take are refused before any request: exit 64, one line naming the option",
        arguments: refused)
    func refusedValues(_ arguments: [String], _ message: String) throws {
        let input = try input(.single)
        let proxy = try RecordingProxy()
        defer { proxy.stop() }
        let run = try CommandLineTool.run(
            [input, "s3://\(bucket)/refused.mp3"] + arguments,
            environment: proxy.environment(for: server))
        #expect(run.status == 64, "\(run.stderr)")
        #expect(run.stderr.split(separator: "\n").first?.contains(message) == true, "\(run.stderr)")
        #expect(proxy.requests.isEmpty, "\(proxy.requests.map(S3Operation.init))")
        // batch shares the option group.
        let batch = try CommandLineTool.run(
            ["batch", folder.path, "s3://\(bucket)/batch"] + arguments,
            environment: proxy.environment(for: server))
        #expect(batch.status == 64, "\(batch.stderr)")
        #expect(proxy.requests.isEmpty)
    }
}

/// The S3 operation of a request the proxy saw, from its method and query.
enum S3Operation: String, CustomStringConvertible {
    case putObject, create, uploadPart, complete, abort, head, get, other

    init(_ request: LocalResponder.Request) {
        let query = request.target.split(separator: "?", maxSplits: 1).dropFirst().first.map(String.init) ?? ""
        let names = Set(query.split(separator: "&").map { String($0.split(separator: "=").first ?? "") })
        switch (request.method, names.contains("uploadId"), names.contains("uploads")) {
        case ("PUT", false, _): self = names.isEmpty ? .putObject : .other
        case ("PUT", true, _): self = .uploadPart
        case ("POST", _, true): self = .create
        case ("POST", true, _): self = .complete
        case ("DELETE", true, _): self = .abort
        case ("HEAD", _, _): self = .head
        case ("GET", _, _): self = .get
        default: self = .other
        }
    }

    var description: String { rawValue }
}

/// An HTTP forward proxy (`http_proxy`) on 127.0.0.1 between the binary and moto that records every
/// request (headers and body) and forwards it unchanged. With `fakeETags`, every ETag in an answer
/// becomes one that is not the body's MD5 (its hex digits reversed), as under SSE-KMS, and is turned
/// back in the CompleteMultipartUpload request so that moto still finds its parts. With
/// `crc32Answers`, the answers carry CRC32s as S3's do.
final class RecordingProxy: Sendable {
    private let responder: LocalResponder
    var url: String { responder.baseURL }
    var requests: [LocalResponder.Request] { responder.requests }

    static let upstream = CurlTransport()

    /// moto answers no CRC32; S3 does (`x-amz-checksum-crc32` on PutObject and UploadPart,
    /// `<ChecksumCRC32>` in CompleteMultipartUpload's result). The proxy adds them: the value the
    /// request sent (S3 agreeing), or for the object (PutObject, Complete) another one.
    enum CRC32Answers: Sendable { case echo, otherForTheObject }

    /// Which answers get an ETag that is not an MD5: every one, or only the object's (PutObject,
    /// CompleteMultipartUpload) so that the parts pass and the object-level check is the one to fail.
    enum FakeETags: Sendable { case all, objectOnly }

    init(fakeETags: FakeETags? = nil, crc32Answers: CRC32Answers? = nil) throws {
        responder = try LocalResponder { request in
            RecordingProxy.forward(request, fakeETags: fakeETags, crc32Answers: crc32Answers)
        }
    }

    func stop() { responder.stop() }

    func environment(for server: S3TestServer) -> [String: String] {
        var environment = CommandLineTool.environment(for: server)
        environment["http_proxy"] = url
        environment["HTTP_PROXY"] = url
        return environment
    }

    private static let hopByHop: Set<String> = [
        "host", "content-length", "connection", "proxy-connection", "keep-alive", "transfer-encoding", "expect",
    ]

    private static func forward(_ request: LocalResponder.Request, fakeETags: FakeETags?, crc32Answers: CRC32Answers?)
        -> LocalResponder.Response
    {
        let operation = S3Operation(request)
        let method = request.method
        var body = method == "GET" || method == "HEAD" || method == "DELETE" ? [] : request.body
        let headers = request.headers.filter { !hopByHop.contains($0.name) }
        if fakeETags == .all, operation == .complete {
            body = Array(reversingETags(inXML: String(decoding: body, as: UTF8.self)).utf8)
            // Same length; moto checks the signature, not the body against x-amz-content-sha256.
        }
        do {
            let answer = try upstream.send(
                HTTPRequest(method: method, url: request.target, headers: headers), body: body)
            var response = LocalResponder.Response(
                status: answer.status, headers: answer.headers.filter { !hopByHop.contains($0.name) })
            response.body = answer.body
            if method == "HEAD", let length = answer.header("content-length").flatMap(Int.init) {
                response.body = [UInt8](repeating: 0, count: length)
            }
            if let fakeETags,
                [.putObject, .complete].contains(operation) || (fakeETags == .all && operation == .uploadPart)
            {
                response.headers = response.headers.map { $0.name == "etag" ? ($0.name, reversingHex($0.value)) : $0 }
                if operation == .complete {
                    response.body = Array(reversingETags(inXML: String(decoding: answer.body, as: UTF8.self)).utf8)
                }
            }
            if let crc32Answers, answer.status == 200, let sent = request.header("x-amz-checksum-crc32") {
                let value = crc32Answers == .echo || operation == .uploadPart ? sent : otherCRC32(sent)
                switch operation {
                case .putObject, .uploadPart:
                    response.headers =
                        response.headers.filter { $0.name != "x-amz-checksum-crc32" } + [
                            ("x-amz-checksum-crc32", value)
                        ]
                case .complete:
                    let text = String(decoding: response.body, as: UTF8.self).replacingOccurrences(
                        of: "</ETag>",
                        with: "</ETag><ChecksumCRC32>\(value)</ChecksumCRC32><ChecksumType>FULL_OBJECT</ChecksumType>")
                    response.body = Array(text.utf8)
                default: break
                }
            }
            return response
        } catch {
            return .init(status: 502, body: "proxy: \(error)")
        }
    }

    /// A base64 CRC32 other than `value`.
    static func otherCRC32(_ value: String) -> String { value == "AAAAAA==" ? "AAAAAQ==" : "AAAAAA==" }

    /// The first run of 32 hex digits in `value`, reversed (so applying it twice gives `value` back).
    static func reversingHex(_ value: String) -> String {
        let characters = Array(value)
        var start = 0
        while start + 32 <= characters.count {
            if characters[start..<start + 32].allSatisfy(\.isHexDigit) {
                return String(characters[..<start]) + String(characters[start..<start + 32].reversed())
                    + String(characters[(start + 32)...])
            }
            start += 1
        }
        return value
    }

    /// Every `<ETag>…</ETag>` of an XML document with `reversingHex` applied.
    static func reversingETags(inXML text: String) -> String {
        var pieces = text.components(separatedBy: "<ETag>")
        for index in pieces.indices.dropFirst() {
            let closing = pieces[index].components(separatedBy: "</ETag>")
            pieces[index] = ([reversingHex(closing[0])] + closing.dropFirst()).joined(separator: "</ETag>")
        }
        return pieces.joined(separator: "<ETag>")
    }
}

/// Reads that S3Client has no call for: GetObjectTagging and GetObjectAcl, signed like any request.
enum MotoReads {
    static func subresource(_ server: S3TestServer, bucket: String, key: String, _ name: String) throws -> String {
        let url = "\(server.endpoint)/\(bucket)/\(key)?\(name)="
        let signer = SigV4Signer(
            credentials: Credentials(accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey),
            region: server.region)
        let headers = signer.signedHeaders(
            method: "GET", url: url, payloadHash: PayloadHasher.emptyPayloadHash, date: Timestamp())
        let response = try CommandMoto.transport.send(HTTPRequest(method: "GET", url: url, headers: headers))
        let text = String(decoding: response.body, as: UTF8.self)
        guard response.status == 200 else {
            throw CommandLineTool.Missing(
                description: "GET ?\(name) on \(bucket)/\(key) answered \(response.status): \(text)")
        }
        return text
    }

    /// The object's tags, from GetObjectTagging.
    static func tags(_ server: S3TestServer, bucket: String, key: String) throws -> [String: String] {
        let text = try subresource(server, bucket: bucket, key: key, "tagging")
        func between(_ text: String, _ open: String, _ close: String) -> String? {
            guard let start = text.range(of: open),
                let end = text.range(of: close, range: start.upperBound..<text.endIndex)
            else { return nil }
            return String(text[start.upperBound..<end.lowerBound])
        }
        var tags: [String: String] = [:]
        for tag in text.components(separatedBy: "<Tag>").dropFirst() {
            if let key = between(tag, "<Key>", "</Key>") { tags[key] = between(tag, "<Value>", "</Value>") ?? "" }
        }
        return tags
    }
}

/// zlib's CRC-32 (the one S3's `x-amz-checksum-crc32` carries, base64 of its 4 big-endian bytes).
enum CRC32 {
    static let table: [UInt32] = (0..<256).map { index in
        var value = UInt32(index)
        for _ in 0..<8 { value = value & 1 != 0 ? 0xEDB8_8320 ^ (value >> 1) : value >> 1 }
        return value
    }

    static func value(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }

    static func base64(_ bytes: [UInt8]) -> String {
        let crc = value(bytes)
        return Data([UInt8(crc >> 24), UInt8(crc >> 16 & 0xFF), UInt8(crc >> 8 & 0xFF), UInt8(crc & 0xFF)])
            .base64EncodedString()
    }
}
