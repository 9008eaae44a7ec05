import HTTPClient

/// The S3 client as the store of a streaming upload: each operation maps the uploader's values onto
/// the client's request headers, nothing more.
extension S3Client: MultipartUploadStore {
    public func createMultipartUpload(_ destination: UploadDestination, checksum: UploadChecksum?) throws -> String {
        var headers = destination.headers
        if let checksum {
            headers.append(("x-amz-checksum-algorithm", checksum.algorithm.s3Name))
            headers.append(("x-amz-checksum-type", checksum.typeName))
        }
        return try createMultipartUpload(bucket: destination.bucket, key: destination.key, headers: headers)
    }

    public func uploadPart(
        _ destination: UploadDestination, uploadID: String, partNumber: Int, body: UnsafeRawBufferPointer,
        checksums: BodyChecksums, maxAttempts: Int
    ) throws -> UploadedPart {
        let output = try uploadPart(
            bucket: destination.bucket, key: destination.key, uploadId: uploadID, partNumber: partNumber, body: body,
            headers: Self.checksumHeaders(checksums), payloadSHA256: checksums.sha256,
            // AWS_MAX_ATTEMPTS / max_attempts above the uploader's count raises it (RetryPolicy.partMaxAttempts).
            maxAttempts: max(maxAttempts, configuration.retry.partMaxAttempts))
        return UploadedPart(
            etag: output.etag, checksum: checksums.checksum.flatMap { output.header($0.algorithm.headerName) },
            encryption: AnsweredEncryption(headers: output.headers))
    }

    public func completeMultipartUpload(
        _ destination: UploadDestination, uploadID: String, parts: [CompletedPart], fullObjectChecksum: ChecksumValue?
    ) throws -> StoredObject {
        var headers: [(name: String, value: String)] = []
        if let fullObjectChecksum {
            headers.append((fullObjectChecksum.algorithm.headerName, fullObjectChecksum.base64))
            headers.append(("x-amz-checksum-type", "FULL_OBJECT"))
        }
        let output: CompleteMultipartUploadOutput
        do {
            output = try completeMultipartUpload(
                bucket: destination.bucket, key: destination.key, uploadId: uploadID, parts: parts, headers: headers,
                checksumAlgorithm: fullObjectChecksum?.algorithm ?? parts.first?.checksum?.algorithm)
        } catch let error as S3Error where error.kind == .noSuchUpload {
            // Perhaps completed by an earlier attempt whose answer was lost: say what the key holds,
            // with its full-object checksum when the upload has one (what identifies it under SSE-KMS).
            let algorithm = fullObjectChecksum?.algorithm
            guard
                let head = try? headObject(
                    bucket: destination.bucket, key: destination.key, checksumMode: algorithm != nil),
                let etag = head.etag
            else { throw error }
            return StoredObject(
                etag: etag, versionID: head.versionId,
                checksum: algorithm.flatMap { HTTPResponse.header($0.headerName, in: head.headers) },
                foundByHeadObject: true, encryption: AnsweredEncryption(headers: head.headers))
        }
        return StoredObject(
            etag: output.etag, versionID: output.versionId, checksum: output.checksum,
            encryption: AnsweredEncryption(headers: output.headers))
    }

    public func abortMultipartUpload(_ destination: UploadDestination, uploadID: String, maxAttempts: Int) throws {
        do {
            try abortMultipartUpload(
                bucket: destination.bucket, key: destination.key, uploadId: uploadID, maxAttempts: maxAttempts)
        } catch let error as S3Error where error.kind == .noSuchUpload {
            // Already gone: what an abort wants.
        }
    }

    public func putObject(_ destination: UploadDestination, body: UnsafeRawBufferPointer, checksums: BodyChecksums)
        throws -> StoredObject
    {
        let output = try putObject(
            bucket: destination.bucket, key: destination.key, body: body,
            headers: destination.headers + Self.checksumHeaders(checksums), payloadSHA256: checksums.sha256)
        guard let etag = output.etag else {
            throw S3Error.invalidResponse(
                operation: "PutObject", bucket: destination.bucket, key: destination.key, status: 200,
                detail: "no ETag header")
        }
        let checksum = checksums.checksum.flatMap { HTTPResponse.header($0.algorithm.headerName, in: output.headers) }
        return StoredObject(
            etag: etag, versionID: output.versionId, checksum: checksum,
            encryption: AnsweredEncryption(headers: output.headers))
    }

    public func deleteObject(_ destination: UploadDestination, versionID: String?) throws {
        try deleteObject(bucket: destination.bucket, key: destination.key, versionId: versionID)
    }

    private static func checksumHeaders(_ checksums: BodyChecksums) -> [(name: String, value: String)] {
        var headers = [(name: "Content-MD5", value: checksums.contentMD5)]
        if let checksum = checksums.checksum {
            headers.append((name: checksum.algorithm.headerName, value: checksum.base64))
        }
        return headers
    }
}
