/// What one S3 implementation needs from an uploader: its quirks as data, not branches.
///
/// The profile is chosen by the endpoint's host where that is unambiguous (`profile(forEndpoint:)`),
/// or by name (`--store NAME`, `S3TRANSCODE_STORE`). Each entry says where its facts come from;
/// the README's "Works with" section is this table in prose.
public struct StoreProfile: Sendable, Equatable, CustomStringConvertible {
    /// What `--store` takes: `aws`, `r2`, `b2`, …
    public var name: String
    /// For messages: "Cloudflare R2".
    public var title: String
    /// Endpoint hosts that are this store: an entry `.example.com` matches any host ending in it,
    /// anything else matches the host exactly.
    public var hosts: [String]
    /// The algorithms the store takes and whether it takes each as FULL_OBJECT (true) or only as
    /// COMPOSITE (false). Empty: it refuses `x-amz-checksum-*` headers.
    public var checksums: [ChecksumAlgorithm: Bool]
    /// What is sent when neither `--checksum` nor `when_required` says otherwise (nil: none).
    public var defaultChecksum: ChecksumAlgorithm?
    /// Parts per upload; the part size grows so that the expected output fits.
    public var maxParts: Int
    /// Every part but the last must have the same size, the last no larger (R2). s3transcode's parts
    /// always are so (part 1, uploaded last, is exactly the part size); the uploader checks it.
    public var equalPartSizes: Bool
    /// Whether the store is addressed path-style (`host/bucket/key`) by default. Informational: it
    /// is true for every S3-compatible entry, which is s3transcode's default for a custom endpoint
    /// (`--path-style` and `addressing_style` still choose), and false for Amazon S3.
    public var pathStyle: Bool
    /// Whether a multipart object's ETag is the MD5 of its part MD5s plus `-N`, as on AWS.
    public var multipartETagIsMD5OfMD5s: Bool
    /// Where these facts come from.
    public var sources: [String]

    public var description: String { "\(title) (\(name))" }

    /// The upload checksum this store gets for `algorithm`: FULL_OBJECT where it allows that, else
    /// COMPOSITE. An algorithm the table does not list is sent as the user asked, FULL_OBJECT.
    public func uploadChecksum(_ algorithm: ChecksumAlgorithm) -> UploadChecksum {
        UploadChecksum(algorithm, fullObject: checksums[algorithm] ?? true)
    }

    private static let allCRCsFullObject: [ChecksumAlgorithm: Bool] = [.crc32: true, .crc32c: true, .crc64nvme: true]

    public static let aws = StoreProfile(
        name: "aws", title: "Amazon S3", hosts: [".amazonaws.com", ".amazonaws.com.cn"],
        checksums: allCRCsFullObject, defaultChecksum: .crc32, maxParts: 10_000, equalPartSizes: false,
        pathStyle: false, multipartETagIsMD5OfMD5s: true,
        sources: [
            "https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity-upload.html",
            "https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html",
        ])

    /// Any other S3-compatible endpoint: nothing beyond Content-MD5 is sent unless asked for, since
    /// many stores refuse the checksum headers (B2, GCS, OVH) and a refusal fails the whole upload.
    public static let generic = StoreProfile(
        name: "generic", title: "unknown S3-compatible store", hosts: [],
        checksums: allCRCsFullObject, defaultChecksum: nil, maxParts: 10_000, equalPartSizes: false,
        pathStyle: true, multipartETagIsMD5OfMD5s: true,
        sources: ["https://docs.aws.amazon.com/sdkref/latest/guide/feature-dataintegrity.html"])

    /// The table. Hosts are only those that name one store unambiguously.
    public static let all: [StoreProfile] = [
        aws,
        StoreProfile(
            name: "r2", title: "Cloudflare R2", hosts: [".r2.cloudflarestorage.com"],
            checksums: [.crc64nvme: true, .crc32: false, .crc32c: false], defaultChecksum: .crc64nvme,
            maxParts: 10_000, equalPartSizes: true, pathStyle: true, multipartETagIsMD5OfMD5s: true,
            sources: [
                "https://developers.cloudflare.com/r2/api/s3/api/",
                "https://developers.cloudflare.com/r2/objects/multipart-objects/",
            ]),
        StoreProfile(
            name: "b2", title: "Backblaze B2", hosts: [".backblazeb2.com"],
            checksums: [:], defaultChecksum: nil, maxParts: 10_000, equalPartSizes: false, pathStyle: true,
            multipartETagIsMD5OfMD5s: false,
            sources: [
                "https://www.backblaze.com/docs/cloud-storage-s3-compatible-api",
                "https://github.com/stonith404/pingvin-share/issues/798",
            ]),
        StoreProfile(
            name: "gcs", title: "Google Cloud Storage (XML API)", hosts: ["storage.googleapis.com"],
            checksums: [:], defaultChecksum: nil, maxParts: 10_000, equalPartSizes: false, pathStyle: true,
            multipartETagIsMD5OfMD5s: false,
            sources: [
                "https://cloud.google.com/storage/docs/xml-api/put-object-multipart",
                "https://cloud.google.com/storage/docs/multipart-uploads",
                "https://github.com/gramps-project/gramps-web-api/pull/758",
            ]),
        StoreProfile(
            name: "minio", title: "MinIO", hosts: [],
            checksums: [.crc32: false, .crc32c: false], defaultChecksum: .crc32, maxParts: 10_000,
            equalPartSizes: false, pathStyle: true, multipartETagIsMD5OfMD5s: true,
            sources: ["https://github.com/minio/minio/issues/14885", "https://github.com/minio/minio/issues/20944"]),
        StoreProfile(
            name: "ceph", title: "Ceph RGW", hosts: [],
            checksums: [:], defaultChecksum: nil, maxParts: 10_000, equalPartSizes: false, pathStyle: true,
            multipartETagIsMD5OfMD5s: true,
            sources: ["https://docs.ceph.com/en/latest/radosgw/s3/", "https://github.com/ceph/ceph/pull/49986"]),
        StoreProfile(
            name: "wasabi", title: "Wasabi", hosts: [".wasabisys.com"],
            checksums: [:], defaultChecksum: nil, maxParts: 10_000, equalPartSizes: false, pathStyle: true,
            multipartETagIsMD5OfMD5s: true,
            sources: ["https://docs.wasabi.com/docs/wasabi-api"]),
        StoreProfile(
            name: "scaleway", title: "Scaleway Object Storage", hosts: [".scw.cloud"],
            checksums: [:], defaultChecksum: nil, maxParts: 1_000, equalPartSizes: false, pathStyle: true,
            multipartETagIsMD5OfMD5s: true,
            sources: ["https://www.scaleway.com/en/docs/storage/object/api-cli/multipart-uploads/"]),
        StoreProfile(
            name: "digitalocean", title: "DigitalOcean Spaces", hosts: [".digitaloceanspaces.com"],
            checksums: [:], defaultChecksum: nil, maxParts: 10_000, equalPartSizes: false, pathStyle: true,
            multipartETagIsMD5OfMD5s: true,
            sources: ["https://docs.digitalocean.com/products/spaces/reference/s3-compatibility/"]),
        StoreProfile(
            name: "ovh", title: "OVHcloud Object Storage", hosts: [".cloud.ovh.net"],
            checksums: [:], defaultChecksum: nil, maxParts: 10_000, equalPartSizes: false, pathStyle: true,
            multipartETagIsMD5OfMD5s: true,
            sources: [
                "https://github.com/ovh/public-cloud-roadmap/issues/781",
                "https://github.com/boto/boto3/issues/4401",
            ]),
        generic,
    ]

    /// The entry `--store` / `S3TRANSCODE_STORE` names (case-insensitive), if any.
    public static func named(_ name: String) -> StoreProfile? {
        let lower = name.lowercased()
        return all.first { $0.name == lower }
    }

    /// The store an endpoint is: Amazon S3 without a custom endpoint, the entry whose host matches,
    /// else `generic`.
    public static func profile(forEndpoint endpoint: String?) -> StoreProfile {
        guard let endpoint else { return aws }
        guard let host = host(of: endpoint) else { return generic }
        return all.first { profile in
            profile.hosts.contains { pattern in
                pattern.hasPrefix(".") ? host.hasSuffix(pattern) || host == pattern.dropFirst() : host == pattern
            }
        } ?? generic
    }

    /// The lowercased host of `scheme://[user@]host[:port][/path]`, without the port.
    static func host(of endpoint: String) -> String? {
        var rest = Substring(endpoint)
        if let range = rest.firstRange(of: "://") { rest = rest[range.upperBound...] }
        if let end = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) { rest = rest[..<end] }
        if let at = rest.lastIndex(of: "@") { rest = rest[rest.index(after: at)...] }
        if rest.hasPrefix("[") {  // an IPv6 literal
            guard let close = rest.firstIndex(of: "]") else { return nil }
            return String(rest[...close]).lowercased()
        }
        if let colon = rest.lastIndex(of: ":") { rest = rest[..<colon] }
        return rest.isEmpty ? nil : rest.lowercased()
    }
}
