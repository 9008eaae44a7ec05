import HTTPClient
import SigV4

/// What PutObject answered.
public struct PutObjectOutput: Sendable {
    public var etag: String?
    public var versionId: String?
    /// All response headers (lowercase names), for checksums and the like.
    public var headers: [(name: String, value: String)]
}

/// What HeadObject answered, and the metadata part of a GetObject.
public struct ObjectAttributes: Sendable {
    public var contentLength: Int
    public var etag: String?
    public var contentType: String?
    public var lastModified: String?
    public var versionId: String?
    /// `x-amz-meta-*` headers, by their name without the prefix.
    public var metadata: [String: String]
    public var headers: [(name: String, value: String)]

    init(_ response: HTTPResponse) {
        contentLength = response.header("content-length").flatMap { Int($0) } ?? response.body.count
        etag = response.header("etag")
        contentType = response.header("content-type")
        lastModified = response.header("last-modified")
        versionId = response.header("x-amz-version-id")
        var metadata: [String: String] = [:]
        for (name, value) in response.headers where name.hasPrefix("x-amz-meta-") {
            metadata[String(name.dropFirst("x-amz-meta-".count))] = value
        }
        self.metadata = metadata
        headers = response.headers
    }

    /// A header of the response by case-insensitive name.
    public func header(_ name: String) -> String? {
        HTTPResponse.header(name, in: headers)
    }
}

/// What GetObject answered.
public struct GetObjectOutput: Sendable {
    public var body: [UInt8]
    public var attributes: ObjectAttributes
    /// The size of the whole object: from `Content-Range` for a ranged GET, else the body's size.
    public var objectSize: Int?
}

/// One object of a listing.
public struct ObjectSummary: Sendable, Equatable {
    public var key: String
    public var size: Int
    public var etag: String?
    public var lastModified: String?
    public var storageClass: String?
}

/// One page of ListObjectsV2.
public struct ListObjectsPage: Sendable {
    public var objects: [ObjectSummary]
    /// With a delimiter: the "directories".
    public var commonPrefixes: [String]
    /// Pass it back to get the next page; nil on the last page.
    public var nextContinuationToken: String?
}

extension S3Client {
    /// [PutObject](https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html): `body` is
    /// sent with Content-Length. `headers` carries what the object is created with
    /// (`Content-Type`, `Content-MD5`, `x-amz-meta-*`, `x-amz-checksum-crc32`, …).
    /// `payloadSHA256` is the body's hex SHA-256 when already computed.
    public func putObject(
        bucket: String, key: String, body: UnsafeRawBufferPointer,
        headers: [(name: String, value: String)] = [], payloadSHA256: String? = nil
    ) throws -> PutObjectOutput {
        let response = try perform(
            Request(
                operation: "PutObject", method: "PUT", bucket: bucket, key: key, headers: headers,
                payloadSHA256: payloadSHA256),
            body: body)
        return PutObjectOutput(
            etag: response.header("etag"), versionId: response.header("x-amz-version-id"), headers: response.headers)
    }

    public func putObject(
        bucket: String, key: String, body: [UInt8], headers: [(name: String, value: String)] = []
    ) throws -> PutObjectOutput {
        try body.withUnsafeBytes { try putObject(bucket: bucket, key: key, body: $0, headers: headers) }
    }

    /// [GetObject](https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html), the whole
    /// object or the bytes of `range` (inclusive offsets, as in HTTP's `Range: bytes=first-last`).
    public func getObject(bucket: String, key: String, range: ClosedRange<Int>? = nil) throws -> GetObjectOutput {
        var headers: [(name: String, value: String)] = []
        if let range { headers.append(("Range", "bytes=\(range.lowerBound)-\(range.upperBound)")) }
        let response = try perform(
            Request(operation: "GetObject", method: "GET", bucket: bucket, key: key, headers: headers))
        var size: Int? = response.body.count
        if let contentRange = response.header("content-range"), let slash = contentRange.lastIndex(of: "/") {
            size = Int(contentRange[contentRange.index(after: slash)...])
        }
        return GetObjectOutput(body: response.body, attributes: ObjectAttributes(response), objectSize: size)
    }

    /// [HeadObject](https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html). A missing
    /// object throws an `S3Error` of kind `noSuchKey`.
    /// With `checksumMode`, asks for the object's stored checksum (`x-amz-checksum-mode: ENABLED`),
    /// answered as its `x-amz-checksum-*` header.
    public func headObject(bucket: String, key: String, checksumMode: Bool = false) throws -> ObjectAttributes {
        let response = try perform(
            Request(
                operation: "HeadObject", method: "HEAD", bucket: bucket, key: key,
                headers: checksumMode ? [("x-amz-checksum-mode", "ENABLED")] : []))
        return ObjectAttributes(response)
    }

    /// [DeleteObject](https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObject.html), the
    /// current version or `versionId`. Deleting a key that does not exist succeeds, as in S3.
    public func deleteObject(bucket: String, key: String, versionId: String? = nil) throws {
        var query: [(name: String, value: String?)] = []
        if let versionId { query.append(("versionId", versionId)) }
        _ = try perform(Request(operation: "DeleteObject", method: "DELETE", bucket: bucket, key: key, query: query))
    }

    /// One page of [ListObjectsV2](https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html).
    public func listObjectsV2(
        bucket: String, prefix: String? = nil, delimiter: String? = nil, maxKeys: Int? = nil,
        continuationToken: String? = nil, startAfter: String? = nil
    ) throws -> ListObjectsPage {
        var query: [(name: String, value: String?)] = [("list-type", "2")]
        if let continuationToken { query.append(("continuation-token", continuationToken)) }
        if let delimiter { query.append(("delimiter", delimiter)) }
        if let maxKeys { query.append(("max-keys", String(maxKeys))) }
        if let prefix { query.append(("prefix", prefix)) }
        if let startAfter { query.append(("start-after", startAfter)) }
        let response = try perform(Request(operation: "ListObjectsV2", method: "GET", bucket: bucket, query: query))
        guard let root = XMLElementNode.parse(response.body), root.name == "ListBucketResult" else {
            throw S3Error.invalidResponse(
                operation: "ListObjectsV2", bucket: bucket, key: nil, status: response.status,
                detail: "no ListBucketResult")
        }
        let objects = root.children("Contents").map { item in
            ObjectSummary(
                key: item.text("Key") ?? "", size: item.text("Size").flatMap { Int($0) } ?? 0, etag: item.text("ETag"),
                lastModified: item.text("LastModified"), storageClass: item.text("StorageClass"))
        }
        let prefixes = root.children("CommonPrefixes").compactMap { $0.text("Prefix") }
        let truncated = root.text("IsTruncated") == "true"
        let next = truncated ? root.text("NextContinuationToken").flatMap { $0.isEmpty ? nil : $0 } : nil
        if truncated && next == nil {
            throw S3Error.invalidResponse(
                operation: "ListObjectsV2", bucket: bucket, key: nil, status: response.status,
                detail: "a truncated listing without NextContinuationToken")
        }
        return ListObjectsPage(objects: objects, commonPrefixes: prefixes, nextContinuationToken: next)
    }

    /// Every object under `prefix`, following continuation tokens page by page.
    public func listAllObjects(bucket: String, prefix: String? = nil, pageSize: Int? = nil) throws -> [ObjectSummary] {
        var all: [ObjectSummary] = []
        var token: String?
        repeat {
            let page = try listObjectsV2(bucket: bucket, prefix: prefix, maxKeys: pageSize, continuationToken: token)
            all += page.objects
            token = page.nextContinuationToken
        } while token != nil
        return all
    }

    /// [CreateBucket](https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateBucket.html) in the
    /// client's region (tests and demos; the tool itself never creates buckets).
    public func createBucket(_ bucket: String) throws {
        let region = region(for: bucket)
        var body: [UInt8] = []
        if region != "us-east-1" {
            body = Array(
                ("<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                    + "<LocationConstraint>\(xmlEscape(region))</LocationConstraint></CreateBucketConfiguration>").utf8)
        }
        _ = try body.withUnsafeBytes { bytes in
            try perform(
                Request(operation: "CreateBucket", method: "PUT", bucket: bucket), body: body.isEmpty ? nil : bytes)
        }
    }
}
