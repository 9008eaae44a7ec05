import Foundation
import HTTPClient
import S3
import SigV4
import TestSupport
import Testing

/// Self-contained (its own transport and helpers) so that it does not lean on other test files.
private enum UploadMoto {
    static let transport = CurlTransport()

    static func client(secret: String? = nil) throws -> S3Client {
        let server = try S3TestServer.shared()
        return S3Client(
            configuration: .init(region: server.region, endpoint: S3Endpoint(custom: server.endpoint)),
            transport: transport,
            credentials: .fixed(
                Credentials(
                    accessKeyId: server.accessKeyId,
                    secretAccessKey: secret ?? server.secretAccessKey)))
    }

    static func bucket(_ client: S3Client, _ prefix: String) throws -> String {
        let bucket = S3TestServer.uniqueBucketName(prefix)
        try client.createBucket(bucket)
        return bucket
    }

    /// Deterministic bytes (xorshift32).
    static func bytes(_ count: Int, seed: UInt32) -> [UInt8] {
        var x = seed &* 2_654_435_761 | 1
        return (0..<count).map { _ in
            x ^= x << 13
            x ^= x >> 17
            x ^= x << 5
            return UInt8(truncatingIfNeeded: x)
        }
    }
}

/// The streaming uploader through the real S3 client against moto with SigV4 checking on: the
/// `MultipartUploadStore` conformance (checksum headers, Content-MD5, the precomputed SHA-256 the
/// signature covers, Complete's CRC32) checked by a real S3 implementation.
@Suite("Streaming upload against moto with SigV4 checking on")
struct UploadMotoTests {
    static let partSize = 5 << 20

    /// Appends `bytes` in muxer-sized writes, then rewrites `patch` at `patchOffset` like the trailer.
    static func write(_ upload: MultipartUpload, _ bytes: [UInt8], patch: [UInt8], patchOffset: Int) throws -> [UInt8] {
        try bytes.withUnsafeBytes { all in
            var offset = 0
            while offset < all.count {
                let end = min(offset + 32_768, all.count)
                try upload.write(UnsafeRawBufferPointer(rebasing: all[offset..<end]), at: Int64(offset))
                offset = end
            }
        }
        try patch.withUnsafeBytes { try upload.write($0, at: Int64(patchOffset)) }
        var expected = bytes
        expected.replaceSubrange(patchOffset..<patchOffset + patch.count, with: patch)
        return expected
    }

    @Test("three parts and a rewrite inside part 1: the object is what was written, verified")
    func multipart() throws {
        let client = try UploadMoto.client()
        let bucket = try UploadMoto.bucket(client, "upload-multipart")
        let destination = UploadDestination(
            bucket: bucket, key: "out/song.mp3", headers: [("Content-Type", "audio/mpeg")])
        let upload = try MultipartUpload(
            destination: destination, store: client, options: .init(partSize: Self.partSize))
        let expected = try Self.write(
            upload, UploadMoto.bytes(2 * Self.partSize + 300_001, seed: 4),
            patch: UploadMoto.bytes(417, seed: 9), patchOffset: 33)
        try upload.finish()

        let result = try #require(upload.result)
        #expect(result.isMultipart)
        #expect(result.partCount == 3)
        #expect(result.etag.hasSuffix("-3\""))
        let object = try client.getObject(bucket: bucket, key: "out/song.mp3")
        #expect(object.body == expected)
        #expect(object.attributes.contentType == "audio/mpeg")
        #expect(try client.listMultipartUploads(bucket: bucket).isEmpty)
    }

    @Test("output smaller than a part: one PutObject")
    func single() throws {
        let client = try UploadMoto.client()
        let bucket = try UploadMoto.bucket(client, "upload-single")
        let destination = UploadDestination(bucket: bucket, key: "small.mp3")
        let upload = try MultipartUpload(destination: destination, store: client, options: .init())
        let expected = try Self.write(upload, UploadMoto.bytes(200_000, seed: 2), patch: [1, 2, 3, 4], patchOffset: 10)
        try upload.finish()
        #expect(upload.result?.isMultipart == false)
        #expect(try client.getObject(bucket: bucket, key: "small.mp3").body == expected)
    }

    @Test("abort halfway: no upload left, no object")
    func aborted() throws {
        let client = try UploadMoto.client()
        let bucket = try UploadMoto.bucket(client, "upload-abort")
        let destination = UploadDestination(bucket: bucket, key: "cut.mp3")
        let upload = try MultipartUpload(destination: destination, store: client, options: .init())
        try UploadMoto.bytes(3 * Self.partSize + 5, seed: 3).withUnsafeBytes { try upload.write($0, at: 0) }
        upload.abort()
        #expect(upload.statistics.multipartCreated)
        #expect(upload.statistics.aborted)
        #expect(try client.listMultipartUploads(bucket: bucket).isEmpty)
        let missing = try #require(throws: S3Error.self) { try client.headObject(bucket: bucket, key: "cut.mp3") }
        #expect(missing.kind == .noSuchKey)
    }

    @Test(
        "a wrong secret fails the upload with the client's credentials error and leaves nothing",
        .enabled(if: S3TestServer.selectedBackend == .moto, "LocalStack accepts any secret on ordinary requests"))
    func rejected() throws {
        let good = try UploadMoto.client()
        let bucket = try UploadMoto.bucket(good, "upload-denied")
        let client = try UploadMoto.client(secret: "wrong-secret")
        let upload = try MultipartUpload(
            destination: UploadDestination(bucket: bucket, key: "no.mp3"), store: client, options: .init())
        let error = try #require(throws: UploadError.self) {
            try UploadMoto.bytes(2 * Self.partSize + 5, seed: 5).withUnsafeBytes { try upload.write($0, at: 0) }
            try upload.finish()
        }
        #expect(error.kind == .remote)
        #expect((error.underlying as? S3Error)?.kind == .credentialsRejected)
        #expect(!error.message.contains("wrong-secret"))
        upload.abort()
        #expect(try good.listMultipartUploads(bucket: bucket).isEmpty)
    }
}
