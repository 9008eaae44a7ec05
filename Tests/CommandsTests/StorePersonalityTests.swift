import Foundation
import S3
import SigV4
import TestSupport
import Testing

/// The S3 server a store personality stands in front of. The endpoint is a parameter, so the same
/// tests run against another implementation by adding it to `all()`.
///
/// moto's server without signature checks: the SSE-KMS personality rewrites the ETags of the
/// CompleteMultipartUpload body (the ETags the client saw are not the upstream's), which a
/// signature over the body would refuse.
struct StoreUpstream: Sendable, CustomStringConvertible {
    var name: String
    var endpoint: String
    var region: String
    var accessKeyId: String
    var secretAccessKey: String

    var description: String { name }

    static func all() throws -> [StoreUpstream] {
        let moto = try S3TestServer.shared()
        return [
            StoreUpstream(
                name: "moto", endpoint: moto.noAuthEndpoint, region: moto.region,
                accessKeyId: moto.accessKeyId, secretAccessKey: moto.secretAccessKey)
        ]
    }

    func client() -> S3Client {
        S3Client(
            configuration: .init(region: region, endpoint: S3Endpoint(custom: endpoint)),
            transport: CommandMoto.transport,
            credentials: .fixed(Credentials(accessKeyId: accessKeyId, secretAccessKey: secretAccessKey)))
    }
}

/// Issue 9: uploads through the real binary to a proxy that behaves like each store people run
/// (`StoreProxy`, whose script cites the store's documents): an SSE-KMS AWS bucket, Backblaze B2,
/// Google Cloud Storage, Cloudflare R2 and Scaleway. For each: a single PutObject and a four-part
/// upload (5 MiB parts) are byte for byte the local run's and leave no upload open; with
/// `AWS_REQUEST_CHECKSUM_CALCULATION=when_required`, and with `--checksum none`, the proxy sees no
/// checksum header at all.
@Suite("Store personalities through the binary", .serialized)
struct StorePersonalityTests {
    typealias Personality = StoreProxy.Personality

    let fixture: FaultFixture

    init() throws {
        fixture = try FaultFixture.shared()
    }

    /// The `--store` each personality is (the proxy's address, 127.0.0.1, names no store).
    static func storeName(_ personality: Personality) -> String {
        switch personality {
        case .kmsBucket: "aws"
        case .backblazeB2: "b2"
        case .googleCloudStorage: "gcs"
        case .cloudflareR2: "r2"
        case .scaleway: "scaleway"
        }
    }

    struct Run {
        var outcome: CommandLineTool.Outcome
        var entries: [StoreProxy.Entry]
        var key: String
    }

    /// Uploads the small (one PutObject) or long (four parts) fixture through a fresh proxy.
    func upload(
        _ personality: Personality, upstream: StoreUpstream, bucket: String, long: Bool,
        arguments extra: [String] = [], environment extraEnvironment: [String: String] = [:],
        store: String? = nil
    ) throws -> Run {
        let proxy = try StoreProxy(upstream: upstream.endpoint, personality: personality)
        defer { proxy.stop() }
        var environment = Self.environment(upstream, proxy: proxy)
        environment.merge(extraEnvironment) { $1 }
        let key = "\(personality.rawValue)/\(long ? "long" : "small")-\(UUID().uuidString).mp3"
        let outcome = try CommandLineTool.run(
            [
                long ? fixture.longWAV : fixture.smallWAV, "s3://\(bucket)/\(key)", "--bitrate", "320", "--part-size",
                "5M",
                "--store", store ?? Self.storeName(personality),
            ] + (extra.contains("--quiet") ? [] : ["-v"]) + extra,
            environment: environment)
        return Run(outcome: outcome, entries: proxy.entries(), key: key)
    }

    /// A run against `proxy` with `upstream`'s keys and no AWS files of the machine's own.
    static func environment(_ upstream: StoreUpstream, proxy: StoreProxy) -> [String: String] {
        CommandLineTool.environment(
            accessKeyId: upstream.accessKeyId, secretAccessKey: upstream.secretAccessKey, region: upstream.region,
            endpoint: proxy.endpoint)
    }

    /// The run succeeded, stored the local run's bytes, and left no upload open.
    func expectStored(
        _ run: Run, long: Bool, upstream: StoreUpstream, bucket: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        #expect(run.outcome.status == 0, "\(run.outcome.stderr)", sourceLocation: sourceLocation)
        let client = upstream.client()
        let stored = try client.getObject(bucket: bucket, key: run.key).body
        #expect(stored == (long ? fixture.longMP3 : fixture.smallMP3), sourceLocation: sourceLocation)
        #expect(try client.listMultipartUploads(bucket: bucket).isEmpty, sourceLocation: sourceLocation)
        let operations = Set(run.entries.map(\.operation))
        #expect(operations.contains(long ? "CompleteMultipartUpload" : "PutObject"), sourceLocation: sourceLocation)
        if long {
            #expect(run.entries.filter { $0.operation == "UploadPart" }.count == 4, sourceLocation: sourceLocation)
        }
        #expect(!operations.contains("DeleteObject"), "a good upload is never deleted", sourceLocation: sourceLocation)
    }

    func expectNoChecksumHeaders(_ run: Run, sourceLocation: SourceLocation = #_sourceLocation) {
        let carrying = run.entries.filter { !$0.checksumHeaders.isEmpty }
        #expect(carrying.isEmpty, "checksum headers on the wire: \(carrying)", sourceLocation: sourceLocation)
        #expect(!run.entries.isEmpty, sourceLocation: sourceLocation)
    }

    @Test(arguments: Personality.allCases)
    func uploadsWithNoOptionAndWithChecksumsOff(personality: Personality) throws {
        for upstream in try StoreUpstream.all() {
            let bucket = S3TestServer.uniqueBucketName("store-\(personality.rawValue)")
            try upstream.client().createBucket(bucket)

            // Defaults: what the store takes.
            for long in [false, true] {
                let run = try upload(personality, upstream: upstream, bucket: bucket, long: long)
                try expectStored(run, long: long, upstream: upstream, bucket: bucket)
                #expect(run.entries.allSatisfy { !$0.refused }, "\(upstream): \(run.entries)")
                let verified = run.outcome.stderr.split(separator: "\n").first { $0.hasPrefix("verified s3://") }
                #expect(verified != nil, "-v says which checks were made: \(run.outcome.stderr)")
                switch personality {
                case .kmsBucket:
                    #expect(verified?.contains("ETag not compared (under aws:kms)") == true, "\(verified ?? "")")
                    #expect(run.entries.contains { $0.checksumHeaders.contains("x-amz-checksum-crc32") })
                case .cloudflareR2:
                    // CRC64NVME as a full-object checksum, checked by the proxy's own CRC-64/NVME.
                    #expect(run.entries.contains { $0.checksumHeaders.contains("x-amz-checksum-crc64nvme") })
                    if long { #expect(verified?.contains("ETag = MD5 of the part MD5s") == true, "\(verified ?? "")") }
                case .googleCloudStorage:
                    expectNoChecksumHeaders(run)
                    if long { #expect(verified?.contains("ETag not compared (not MD5-based on this store)") == true) }
                case .backblazeB2, .scaleway:
                    expectNoChecksumHeaders(run)
                }
            }

            // AWS_REQUEST_CHECKSUM_CALCULATION=when_required (any case): no checksum header at all.
            let required = try upload(
                personality, upstream: upstream, bucket: bucket, long: true,
                environment: ["AWS_REQUEST_CHECKSUM_CALCULATION": "WHEN_REQUIRED"])
            try expectStored(required, long: true, upstream: upstream, bucket: bucket)
            expectNoChecksumHeaders(required)

            // --checksum none: the same.
            let none = try upload(
                personality, upstream: upstream, bucket: bucket, long: false,
                arguments: ["--checksum", "none"])
            try expectStored(none, long: false, upstream: upstream, bucket: bucket)
            expectNoChecksumHeaders(none)
        }
    }

    /// A store that refuses the checksum headers: one line that names both ways out, exit 69, the
    /// refusal not retried, nothing left open and no object.
    @Test(arguments: [(Personality.backblazeB2, false), (.backblazeB2, true), (.googleCloudStorage, true)])
    func aRefusedChecksumSaysHowToTurnItOff(personality: Personality, long: Bool) throws {
        for upstream in try StoreUpstream.all() {
            let bucket = S3TestServer.uniqueBucketName("refused-\(personality.rawValue)")
            try upstream.client().createBucket(bucket)
            let run = try upload(
                personality, upstream: upstream, bucket: bucket, long: long,
                arguments: ["--checksum", "crc32", "--quiet"], store: "aws")
            #expect(run.outcome.status == 69, "\(run.outcome.stderr)")
            let lines = run.outcome.stderr.split(separator: "\n")
            #expect(lines.count == 1, "\(run.outcome.stderr)")
            #expect(run.outcome.stderr.contains("--checksum none"))
            #expect(run.outcome.stderr.contains("AWS_REQUEST_CHECKSUM_CALCULATION=when_required"))
            #expect(run.entries.filter(\.refused).count == 1, "refused once, not retried: \(run.entries)")
            let client = upstream.client()
            #expect(try client.listMultipartUploads(bucket: bucket).isEmpty)
            #expect(try client.listAllObjects(bucket: bucket).isEmpty)
        }
    }

    /// R2 refuses a CRC32 FULL_OBJECT upload with 501 NotImplemented (what `--store aws` asks):
    /// not retried, not called throttling, and the line names the way out. With `--store r2`, CRC32
    /// goes as R2 takes it, COMPOSITE, and the upload works.
    @Test func r2RefusesCRC32FullObjectAndTakesItComposite() throws {
        for upstream in try StoreUpstream.all() {
            let bucket = S3TestServer.uniqueBucketName("r2-crc32")
            try upstream.client().createBucket(bucket)
            let refused = try upload(
                .cloudflareR2, upstream: upstream, bucket: bucket, long: true,
                arguments: ["--checksum", "crc32", "--quiet"], store: "aws")
            #expect(refused.outcome.status == 69, "\(refused.outcome.stderr)")
            #expect(refused.outcome.stderr.contains("NotImplemented"))
            #expect(refused.outcome.stderr.contains("--checksum none"))
            #expect(!refused.outcome.stderr.contains("throttling"))
            #expect(refused.entries.filter { $0.operation == "CreateMultipartUpload" }.count == 1, "\(refused.entries)")
            #expect(try upstream.client().listMultipartUploads(bucket: bucket).isEmpty)

            let composite = try upload(
                .cloudflareR2, upstream: upstream, bucket: bucket, long: true,
                arguments: ["--checksum", "crc32"])
            try expectStored(composite, long: true, upstream: upstream, bucket: bucket)
            #expect(composite.outcome.stderr.contains("CRC32 COMPOSITE"), "\(composite.outcome.stderr)")
        }
    }

    /// `batch` takes the same options: to B2 (named by S3TRANSCODE_STORE) every file goes with
    /// Content-MD5 only; with `--checksum crc32` every file fails with the line that says how to
    /// turn it off, and nothing is left.
    @Test func batchFollowsTheStoreToo() throws {
        for upstream in try StoreUpstream.all() {
            let bucket = S3TestServer.uniqueBucketName("store-batch")
            try upstream.client().createBucket(bucket)
            let folder = try FixtureFolder()
            try folder.writeShortWAVs(3)
            let proxy = try StoreProxy(upstream: upstream.endpoint, personality: .backblazeB2)
            defer { proxy.stop() }
            var environment = Self.environment(upstream, proxy: proxy)
            environment["S3TRANSCODE_STORE"] = "b2"
            let good = try CommandLineTool.run(
                ["batch", folder.path, "s3://\(bucket)/ok/", "--quiet"], environment: environment)
            #expect(good.status == 0, "\(good.stderr)")
            #expect(try upstream.client().listAllObjects(bucket: bucket).count == 3)
            #expect(proxy.entries().allSatisfy { $0.checksumHeaders.isEmpty }, "\(proxy.entries())")

            // Refused: --checksum crc32 given to batch, or the AWS profile (whose default is crc32) named.
            var asAWS = environment
            asAWS["S3TRANSCODE_STORE"] = "aws"
            for (arguments, environment) in [(["--checksum", "crc32"], environment), ([], asAWS)] {
                let refused = try CommandLineTool.run(
                    ["batch", folder.path, "s3://\(bucket)/refused/", "--json"] + arguments,
                    environment: environment)
                #expect(refused.status == 1, "\(refused.stderr)")
                let failures = try jsonObjects(refused).filter { $0["status"] as? String == "failed" }
                #expect(failures.count == 3, "\(refused.stdout)")
                #expect(
                    failures.allSatisfy { ($0["error"] as? String)?.contains("--checksum none") == true }, "\(failures)"
                )
                #expect(try upstream.client().listAllObjects(bucket: bucket).count == 3)
                #expect(try upstream.client().listMultipartUploads(bucket: bucket).isEmpty)
            }
        }
    }
}
