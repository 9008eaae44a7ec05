import HTTPClient

/// The S3 operations a streaming upload needs, and nothing else.
///
/// The uploader is written against this protocol so that it can be tested against an in-memory
/// store with fault switches; the S3 client conforms with a thin extension. Every call is
/// synchronous and blocks its thread (the uploader calls it from its own dedicated threads, never
/// from Swift's cooperative pool), and implementations are thread-safe: parts are uploaded from
/// several threads at once.
///
/// Request bodies are borrowed (`UnsafeRawBufferPointer`) for the duration of the call, so a part
/// buffer is sent without a copy and a retry sends it again from its first byte.
///
/// - <https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html>
/// - <https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html>
public protocol MultipartUploadStore: Sendable {
    /// [CreateMultipartUpload](https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateMultipartUpload.html).
    /// With a `checksum`, sends `x-amz-checksum-algorithm` and `x-amz-checksum-type` (FULL_OBJECT or
    /// COMPOSITE); without one, no checksum header at all. Returns the upload ID.
    func createMultipartUpload(_ destination: UploadDestination, checksum: UploadChecksum?) throws -> String

    /// [UploadPart](https://docs.aws.amazon.com/AmazonS3/latest/API/API_UploadPart.html), with
    /// `Content-MD5`, `x-amz-content-sha256` (`checksums.sha256`, already computed) and, when
    /// `checksums.checksum` is set, its `x-amz-checksum-*` header. Retryable failures are retried up to
    /// `maxAttempts` attempts in all (the client's retry policy with a higher attempt count than for
    /// single calls), each attempt sending `body` from its first byte.
    func uploadPart(
        _ destination: UploadDestination, uploadID: String, partNumber: Int,
        body: UnsafeRawBufferPointer, checksums: BodyChecksums, maxAttempts: Int
    ) throws -> UploadedPart

    /// [CompleteMultipartUpload](https://docs.aws.amazon.com/AmazonS3/latest/API/API_CompleteMultipartUpload.html).
    /// `parts` are in ascending part number order (with their checksums when the upload has one).
    /// When `fullObjectChecksum` is set, it is sent as its `x-amz-checksum-*` header with
    /// `x-amz-checksum-type: FULL_OBJECT`. A 200 whose body is an `<Error>` document is a failure and
    /// must throw.
    ///
    /// When S3 answers NoSuchUpload, the upload may already be complete: a retried Complete whose
    /// first attempt succeeded but whose answer was lost gets NoSuchUpload. Implementations may then
    /// return what HeadObject says of the key, with `foundByHeadObject` set (and its checksum, asked
    /// for with `x-amz-checksum-mode: ENABLED`, when `fullObjectChecksum` is set); the uploader
    /// accepts it only when its MD5 ETag or its full-object checksum is the one computed from the
    /// parts, and never deletes such an object.
    func completeMultipartUpload(
        _ destination: UploadDestination, uploadID: String, parts: [CompletedPart], fullObjectChecksum: ChecksumValue?
    ) throws -> StoredObject

    /// [AbortMultipartUpload](https://docs.aws.amazon.com/AmazonS3/latest/API/API_AbortMultipartUpload.html),
    /// retried up to `maxAttempts` attempts in all. `NoSuchUpload` counts as done.
    func abortMultipartUpload(_ destination: UploadDestination, uploadID: String, maxAttempts: Int) throws

    /// [PutObject](https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html) with
    /// `Content-Length`, `Content-MD5`, `x-amz-content-sha256` and, when `checksums.checksum` is set,
    /// its `x-amz-checksum-*` header. Used for output smaller than one part.
    func putObject(_ destination: UploadDestination, body: UnsafeRawBufferPointer, checksums: BodyChecksums) throws
        -> StoredObject

    /// [DeleteObject](https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObject.html) of the
    /// given version (or the current one). Used only to remove an object that S3 stored but that
    /// failed verification, so that a failed upload leaves nothing behind.
    func deleteObject(_ destination: UploadDestination, versionID: String?) throws
}

/// Where an upload goes, and the headers the object is created with.
public struct UploadDestination: Sendable, CustomStringConvertible {
    public var bucket: String
    public var key: String
    /// Object headers sent with CreateMultipartUpload or PutObject (not with parts): Content-Type,
    /// Cache-Control, `x-amz-meta-*`, `x-amz-server-side-encryption` and so on, in this order.
    public var headers: [(name: String, value: String)]

    public init(bucket: String, key: String, headers: [(name: String, value: String)] = []) {
        self.bucket = bucket
        self.key = key
        self.headers = headers
    }

    /// `s3://bucket/key`, for messages.
    public var description: String { "s3://\(bucket)/\(key)" }
}

/// The integrity values of one request body, computed while the body was filled.
public struct BodyChecksums: Sendable, Equatable {
    /// `Content-MD5`: base64 of the body's 16-byte MD5.
    public var contentMD5: String
    /// `x-amz-content-sha256`: lowercase hex of the body's SHA-256.
    public var sha256: String
    /// The `x-amz-checksum-*` value to send, or nil to send none (Content-MD5 is always sent).
    public var checksum: ChecksumValue?

    public init(contentMD5: String, sha256: String, checksum: ChecksumValue? = nil) {
        self.contentMD5 = contentMD5
        self.sha256 = sha256
        self.checksum = checksum
    }

    /// The CRC32 value, when that is the checksum sent.
    public var crc32: String? { checksum?.algorithm == .crc32 ? checksum?.base64 : nil }
}

/// What an answer says about server-side encryption: the two headers that make an ETag something
/// other than an MD5 (`x-amz-server-side-encryption: aws:kms` or `aws:kms:dsse`, and SSE-C's
/// `x-amz-server-side-encryption-customer-algorithm`).
public struct AnsweredEncryption: Sendable, Equatable {
    public var serverSideEncryption: String?
    public var customerKeyAlgorithm: String?

    public init(serverSideEncryption: String? = nil, customerKeyAlgorithm: String? = nil) {
        self.serverSideEncryption = serverSideEncryption
        self.customerKeyAlgorithm = customerKeyAlgorithm
    }

    /// From response headers (names in any case).
    public init(headers: [(name: String, value: String)]) {
        self.init(
            serverSideEncryption: HTTPResponse.header("x-amz-server-side-encryption", in: headers),
            customerKeyAlgorithm: HTTPResponse.header("x-amz-server-side-encryption-customer-algorithm", in: headers))
    }
}

/// What UploadPart answered.
public struct UploadedPart: Sendable, Equatable {
    /// As S3 sent it (usually quoted).
    public var etag: String
    /// The response's `x-amz-checksum-*` value for the algorithm sent, when the endpoint sent one.
    public var checksum: String?
    public var encryption: AnsweredEncryption

    public init(etag: String, checksum: String? = nil, encryption: AnsweredEncryption = AnsweredEncryption()) {
        self.etag = etag
        self.checksum = checksum
        self.encryption = encryption
    }
}

/// One `<Part>` of the CompleteMultipartUpload request.
public struct CompletedPart: Sendable, Equatable {
    /// 1-based.
    public var partNumber: Int
    public var etag: String
    /// The part's checksum, when the upload was created with a checksum algorithm.
    public var checksum: ChecksumValue?

    public init(partNumber: Int, etag: String, checksum: ChecksumValue? = nil) {
        self.partNumber = partNumber
        self.etag = etag
        self.checksum = checksum
    }
}

/// What PutObject or CompleteMultipartUpload answered.
public struct StoredObject: Sendable, Equatable {
    public var etag: String
    public var versionID: String?
    /// The object's checksum (base64) for the algorithm sent, when the endpoint sent one.
    public var checksum: String?
    /// Set when CompleteMultipartUpload answered NoSuchUpload and this is HeadObject's answer for
    /// the key instead (see `completeMultipartUpload`).
    public var foundByHeadObject: Bool
    public var encryption: AnsweredEncryption

    public init(
        etag: String, versionID: String? = nil, checksum: String? = nil, foundByHeadObject: Bool = false,
        encryption: AnsweredEncryption = AnsweredEncryption()
    ) {
        self.etag = etag
        self.versionID = versionID
        self.checksum = checksum
        self.foundByHeadObject = foundByHeadObject
        self.encryption = encryption
    }
}
