import Basics
import HTTPClient
import SigV4

/// What UploadPart answered.
public struct UploadPartOutput: Sendable {
    public var etag: String
    public var headers: [(name: String, value: String)]

    public func header(_ name: String) -> String? {
        HTTPResponse.header(name, in: headers)
    }
}

/// What CompleteMultipartUpload answered.
public struct CompleteMultipartUploadOutput: Sendable {
    public var etag: String
    public var location: String?
    public var versionId: String?
    /// The result's checksum for the algorithm asked for (`ChecksumCRC64NVME`, … or the response
    /// header), when the endpoint sent one.
    public var checksum: String?
    public var checksumType: String?
    public var headers: [(name: String, value: String)]
}

/// One incomplete multipart upload, from ListMultipartUploads.
public struct MultipartUploadSummary: Sendable, Equatable {
    public var key: String
    public var uploadId: String
    /// As S3 wrote it (ISO 8601).
    public var initiated: String?

    public init(key: String, uploadId: String, initiated: String?) {
        self.key = key
        self.uploadId = uploadId
        self.initiated = initiated
    }

    /// `initiated` as a date, when it parses.
    public var initiatedDate: Timestamp? { initiated.flatMap(AmzDate.parseISO8601) }
}

extension S3Client {
    /// [CreateMultipartUpload](https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateMultipartUpload.html)
    /// (`POST ?uploads`). `headers` are what the object will be created with. Returns the upload ID.
    ///
    /// A cancellation stops a Create from starting, but not one already sent: cut in flight, it may
    /// still create an upload whose ID we never learn, and nobody could abort it.
    public func createMultipartUpload(bucket: String, key: String, headers: [(name: String, value: String)] = []) throws
        -> String
    {
        if cancellation?.isCancelled == true {
            throw S3Error.transport(
                operation: "CreateMultipartUpload", bucket: bucket, key: key,
                error: TransportError(.cancelled, "cancelled"), attempts: 0)
        }
        let response = try perform(
            Request(
                operation: "CreateMultipartUpload", method: "POST", bucket: bucket, key: key,
                query: [("uploads", nil)], headers: headers, survivesCancellation: true))
        guard let root = XMLElementNode.parse(response.body), root.name == "InitiateMultipartUploadResult",
            let uploadId = root.text("UploadId"), !uploadId.isEmpty
        else {
            throw S3Error.invalidResponse(
                operation: "CreateMultipartUpload", bucket: bucket, key: key, status: response.status,
                detail: "no UploadId")
        }
        return uploadId
    }

    /// [UploadPart](https://docs.aws.amazon.com/AmazonS3/latest/API/API_UploadPart.html).
    /// `partNumber` is 1-based. `headers` carries `Content-MD5` and checksums; `payloadSHA256` is the
    /// body's hex SHA-256 when already computed. Retried up to `maxAttempts` in all (the policy's
    /// `partMaxAttempts` by default), each attempt sending `body` from its first byte.
    public func uploadPart(
        bucket: String, key: String, uploadId: String, partNumber: Int, body: UnsafeRawBufferPointer,
        headers: [(name: String, value: String)] = [], payloadSHA256: String? = nil, maxAttempts: Int? = nil
    ) throws -> UploadPartOutput {
        let response = try perform(
            Request(
                operation: "UploadPart", method: "PUT", bucket: bucket, key: key,
                query: [("partNumber", String(partNumber)), ("uploadId", uploadId)], headers: headers,
                payloadSHA256: payloadSHA256, maxAttempts: maxAttempts ?? configuration.retry.partMaxAttempts),
            body: body)
        guard let etag = response.header("etag") else {
            throw S3Error.invalidResponse(
                operation: "UploadPart", bucket: bucket, key: key, status: response.status, detail: "no ETag header")
        }
        return UploadPartOutput(etag: etag, headers: response.headers)
    }

    /// [CompleteMultipartUpload](https://docs.aws.amazon.com/AmazonS3/latest/API/API_CompleteMultipartUpload.html).
    /// `parts` in ascending part number order. A 200 whose body is an `<Error>` document is a
    /// failure: retried like a 500, then thrown.
    public func completeMultipartUpload(
        bucket: String, key: String, uploadId: String, parts: [CompletedPart],
        headers: [(name: String, value: String)] = [], checksumAlgorithm: ChecksumAlgorithm? = nil
    ) throws -> CompleteMultipartUploadOutput {
        let body = Array(Self.completeMultipartUploadBody(parts).utf8)
        let response = try body.withUnsafeBytes { bytes in
            try perform(
                Request(
                    operation: "CompleteMultipartUpload", method: "POST", bucket: bucket, key: key,
                    query: [("uploadId", uploadId)], headers: [("Content-Type", "application/xml")] + headers,
                    // Cut in flight, a Complete may still have made the object, which the abort
                    // that follows would then leave behind: let a started Complete finish.
                    errorDocumentMeansFailure: true, survivesCancellation: true),
                body: bytes)
        }
        // moto names the root CompleteMultipartUploadResponse.
        guard let root = XMLElementNode.parse(response.body),
            root.name == "CompleteMultipartUploadResult" || root.name == "CompleteMultipartUploadResponse",
            let etag = root.text("ETag")
        else {
            throw S3Error.invalidResponse(
                operation: "CompleteMultipartUpload", bucket: bucket, key: key, status: response.status,
                detail: "no CompleteMultipartUploadResult")
        }
        return CompleteMultipartUploadOutput(
            etag: etag, location: root.text("Location"), versionId: response.header("x-amz-version-id"),
            checksum: checksumAlgorithm.flatMap { root.text($0.xmlElement) ?? response.header($0.headerName) },
            checksumType: root.text("ChecksumType") ?? response.header("x-amz-checksum-type"),
            headers: response.headers)
    }

    /// The `CompleteMultipartUpload` XML document.
    static func completeMultipartUploadBody(_ parts: [CompletedPart]) -> String {
        var xml = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        for part in parts {
            xml += "<Part>"
            if let checksum = part.checksum {
                let element = checksum.algorithm.xmlElement
                xml += "<\(element)>\(xmlEscape(checksum.base64))</\(element)>"
            }
            xml += "<ETag>\(xmlEscape(part.etag))</ETag><PartNumber>\(part.partNumber)</PartNumber></Part>"
        }
        return xml + "</CompleteMultipartUpload>"
    }

    /// [AbortMultipartUpload](https://docs.aws.amazon.com/AmazonS3/latest/API/API_AbortMultipartUpload.html).
    /// Throws `noSuchUpload` when the upload is already gone (callers aborting may treat that as done).
    ///
    /// The client's cancellation flag does not stop it: this is the cleanup a cancelled run owes
    /// (with a `CancellableTransport` such as `CurlTransport`, the transfer ignores the flag too).
    public func abortMultipartUpload(bucket: String, key: String, uploadId: String, maxAttempts: Int? = nil) throws {
        _ = try perform(
            Request(
                operation: "AbortMultipartUpload", method: "DELETE", bucket: bucket, key: key,
                query: [("uploadId", uploadId)], maxAttempts: maxAttempts, survivesCancellation: true))
    }

    /// Every incomplete multipart upload under `prefix`
    /// ([ListMultipartUploads](https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListMultipartUploads.html)),
    /// following `NextKeyMarker`/`NextUploadIdMarker` page by page.
    public func listMultipartUploads(bucket: String, prefix: String? = nil, pageSize: Int? = nil) throws
        -> [MultipartUploadSummary]
    {
        var all: [MultipartUploadSummary] = []
        var keyMarker: String?
        var uploadIdMarker: String?
        while true {
            var query: [(name: String, value: String?)] = []
            if let keyMarker { query.append(("key-marker", keyMarker)) }
            if let pageSize { query.append(("max-uploads", String(pageSize))) }
            if let prefix { query.append(("prefix", prefix)) }
            if let uploadIdMarker { query.append(("upload-id-marker", uploadIdMarker)) }
            query.append(("uploads", nil))
            let response = try perform(
                Request(operation: "ListMultipartUploads", method: "GET", bucket: bucket, query: query))
            guard let root = XMLElementNode.parse(response.body), root.name == "ListMultipartUploadsResult" else {
                throw S3Error.invalidResponse(
                    operation: "ListMultipartUploads", bucket: bucket, key: nil, status: response.status,
                    detail: "no ListMultipartUploadsResult")
            }
            all += root.children("Upload").compactMap { upload in
                guard let key = upload.text("Key"), let id = upload.text("UploadId") else { return nil }
                return MultipartUploadSummary(key: key, uploadId: id, initiated: upload.text("Initiated"))
            }
            let nextKey = root.text("NextKeyMarker").flatMap { $0.isEmpty ? nil : $0 }
            guard root.text("IsTruncated") == "true", let nextKey,
                nextKey != keyMarker || root.text("NextUploadIdMarker") != uploadIdMarker
            else { return all }
            keyMarker = nextKey
            uploadIdMarker = root.text("NextUploadIdMarker")
        }
    }
}
