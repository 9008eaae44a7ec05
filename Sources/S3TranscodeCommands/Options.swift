import AWSConfig
import ArgumentParser
import S3

/// `-v`, `-vv`, `--quiet`, `--json`: what a person (stderr) and a program (stdout) see.
struct OutputOptionGroup: ParsableArguments {
    @Flag(name: .shortAndLong, help: "Say more on stderr: -v one line per S3 request, -vv also FFmpeg's own warnings.")
    var verbose: Int

    @Flag(name: .shortAndLong, help: "Print nothing on stderr but errors.")
    var quiet = false

    @Flag(help: "Print the result as JSON on stdout.")
    var json = false

    func validate() throws {
        if quiet && verbose > 0 { throw ValidationError("--quiet and --verbose contradict each other: give one") }
    }
}

/// Where S3 is and who we are there. Unset options fall back to the environment and the AWS config
/// files, exactly as the AWS CLI resolves them.
struct S3OptionGroup: ParsableArguments {
    @Option(
        help:
            "The profile in ~/.aws/config and ~/.aws/credentials (default: AWS_DEFAULT_PROFILE, AWS_PROFILE, else default, as the AWS CLI)."
    )
    var profile: String?

    @Option(help: "The region (default: AWS_REGION, AWS_DEFAULT_REGION, the profile, else us-east-1).")
    var region: String?

    @Option(
        help: ArgumentHelp(
            "An S3-compatible endpoint, e.g. http://127.0.0.1:9000 (default: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, the profile).",
            valueName: "url"))
    var endpointURL: String?

    @Flag(help: "Address buckets as https://host/bucket/key rather than https://bucket.host/key.")
    var pathStyle = false

    @Option(
        help: ArgumentHelp(
            "The store whose quirks to follow (checksums, part limit, part sizes, ETags): aws, r2, b2, gcs, minio, ceph, wasabi, scaleway, digitalocean, ovh or generic (default: S3TRANSCODE_STORE, else found from the endpoint's host; see the README's \"Works with\").",
            valueName: "name"))
    var store: String?

    func validate() throws {
        if let store, StoreProfile.named(store) == nil {
            throw ValidationError(
                "--store \(store): use one of " + StoreProfile.all.map(\.name).joined(separator: ", "))
        }
    }

    var flags: ConfigurationFlags {
        ConfigurationFlags(profile: profile, region: region, endpointURL: endpointURL, pathStyle: pathStyle)
    }
}

/// How a streaming upload spends memory and connections.
struct UploadOptionGroup: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Bytes per part, 5M to 5G; grown when the output would need more than 10,000 parts.", valueName: "size"))
    var partSize = "5M"

    @Option(help: ArgumentHelp("Parts uploaded at once while encoding goes on.", valueName: "n"))
    var concurrency = 2

    @Option(
        help: ArgumentHelp(
            "Budget for part buffers (part 1 included), e.g. 15M; to a presigned URL the whole MP3 (default 256M).",
            valueName: "size"))
    var maxMemory: String?

    @Option(
        help: ArgumentHelp(
            "The x-amz-checksum sent with every part and the object, besides Content-MD5, as a full-object checksum where the store allows it. Default: crc32 on Amazon S3; on another store what it takes (see --store), none when unknown; none when AWS_REQUEST_CHECKSUM_CALCULATION / request_checksum_calculation is when_required.",
            valueName: "crc32|crc32c|crc64nvme|none"))
    var checksum: String?

    func validate() throws {
        guard let part = Units.bytes(partSize) else {
            throw ValidationError("--part-size \(partSize): give a size such as 5M or 64M")
        }
        if let maxMemory, Units.bytes(maxMemory) == nil {
            throw ValidationError("--max-memory \(maxMemory): give a size such as 16M")
        }
        guard concurrency >= 1 else { throw ValidationError("--concurrency must be at least 1") }
        if let checksum, checksum.lowercased() != "none", ChecksumAlgorithm(rawValue: checksum.lowercased()) == nil {
            throw ValidationError("--checksum \(checksum): use crc32, crc32c, crc64nvme or none")
        }
        _ = part
    }

    /// The checksum an upload to `store` sends: `--checksum` when given (an explicit choice wins, as
    /// an explicit ChecksumAlgorithm does in the SDKs), else none under `when_required`, else the
    /// store's default. FULL_OBJECT where the store allows it for the algorithm, else COMPOSITE.
    func uploadChecksum(store: StoreProfile, settings: ChecksumSettings) -> UploadChecksum? {
        switch checksum?.lowercased() {
        case "none": return nil
        case let name?: return ChecksumAlgorithm(rawValue: name).map(store.uploadChecksum)
        case nil:
            if settings.requestCalculation == .whenRequired { return nil }
            return store.defaultChecksum.map(store.uploadChecksum)
        }
    }

    /// The upload options for `store`: sizes and memory from the flags, the store's limits, the checksum.
    func options(expectedSize: Int64?, store: StoreProfile = .aws, settings: ChecksumSettings = ChecksumSettings())
        -> MultipartUploadOptions
    {
        var options = MultipartUploadOptions().applying(store)
        options.partSize = Units.bytes(partSize) ?? options.partSize
        options.concurrency = concurrency
        // Without --max-memory, three parts of the planned size (15M for the default 5M), as batch gives
        // each job: a larger --part-size, or one grown for a long input, then works instead of failing
        // for want of a budget nobody asked for.
        options.memoryBudget = maxMemory.flatMap(Units.bytes)
        options.expectedSize = expectedSize
        options.checksum = uploadChecksum(store: store, settings: settings)
        options.validateAnsweredChecksums = settings.responseValidation == .whenSupported
        return options
    }

    /// The in-memory bound for a presigned PUT, which must hold the whole MP3.
    var presignedBudget: Int { maxMemory.flatMap(Units.bytes) ?? 256 << 20 }
}

/// The object's headers: content type, caching, metadata, storage class, encryption, ACL, tags.
struct ObjectOptionGroup: ParsableArguments {
    @Option(help: "Content-Type of the object.") var contentType = "audio/mpeg"
    @Option(help: "Cache-Control of the object.") var cacheControl: String?
    @Option(help: "Content-Disposition of the object.") var contentDisposition: String?
    @Option(help: ArgumentHelp("User metadata, stored as x-amz-meta-KEY (repeatable).", valueName: "key=value"))
    var metadata: [String] = []
    @Option(help: "STANDARD, STANDARD_IA, INTELLIGENT_TIERING, GLACIER_IR, …") var storageClass: String?
    @Option(help: ArgumentHelp("Server-side encryption: AES256 or aws:kms.", valueName: "AES256|aws:kms")) var sse:
        String?
    @Option(help: "The KMS key for --sse aws:kms.") var sseKmsKeyId: String?
    @Option(help: "A canned ACL: private, public-read, bucket-owner-full-control, …") var acl: String?
    @Option(help: ArgumentHelp("Object tags as a URL query, e.g. project=x&stage=raw.", valueName: "k=v&…"))
    var tagging: String?
    @Option(help: "Fail unless the bucket belongs to this account ID.") var expectedBucketOwner: String?

    func validate() throws {
        // Each of these becomes a request header: printable US-ASCII only, so a line break cannot
        // add a header and S3 (which refuses or mangles other bytes, as botocore does) sees what was meant.
        var keys: Set<String> = []
        for entry in metadata {
            guard let equals = entry.firstIndex(of: "="), equals != entry.startIndex else {
                throw ValidationError("--metadata \(entry): give KEY=VALUE")
            }
            let key = entry[..<equals].lowercased()
            guard key.unicodeScalars.allSatisfy(Self.isMetadataKeyCharacter) else {
                throw ValidationError(
                    "--metadata \(key.debugDescription): a key is ASCII letters, digits and - _ . only")
            }
            guard key != "source-sha256", key != "source-size" else {
                throw ValidationError("--metadata \(key): s3transcode records this key itself; choose another name")
            }
            guard keys.insert(key).inserted else {
                throw ValidationError("--metadata \(key) is given twice (keys are case-insensitive): give it once")
            }
            guard Self.isHeaderValue(entry[entry.index(after: equals)...]) else {
                throw ValidationError(
                    "--metadata \(key): S3 metadata is printable US-ASCII only (no accents, no line "
                        + "breaks); percent-encode or RFC 2047-encode the value first")
            }
        }
        // S3 refuses more than 2 KB of user metadata (keys and values, without the prefix), ours included.
        let ours = "source-sha256".count + 64 + "source-size".count + 20
        let total = metadata.reduce(ours) { $0 + $1.utf8.count - 1 }
        if total > 2048 {
            throw ValidationError(
                "--metadata: \(total - ours) bytes of keys and values; S3 takes 2 KB of metadata and "
                    + "s3transcode's source-sha256 and source-size use \(ours) of it, so at most \(2048 - ours) remain; shorten them"
            )
        }
        let values = [
            ("--content-type", contentType), ("--cache-control", cacheControl),
            ("--content-disposition", contentDisposition), ("--storage-class", storageClass),
            ("--sse-kms-key-id", sseKmsKeyId), ("--acl", acl), ("--tagging", tagging),
            ("--expected-bucket-owner", expectedBucketOwner),
        ]
        for case (let option, let value?) in values where !Self.isHeaderValue(value[...]) {
            throw ValidationError(
                "\(option): S3 takes printable US-ASCII only in this header (no accents, no line "
                    + "breaks); percent-encode the rest (a file name: filename*=UTF-8''…)")
        }
        if let sse, sse != "AES256", sse != "aws:kms" { throw ValidationError("--sse \(sse): use AES256 or aws:kms") }
        if sseKmsKeyId != nil, sse != "aws:kms" { throw ValidationError("--sse-kms-key-id goes with --sse aws:kms") }
    }

    /// What a metadata key may hold: part of a header name, the characters S3 recommends.
    static func isMetadataKeyCharacter(_ scalar: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar) || "-_.".unicodeScalars.contains(scalar)
    }

    /// Printable US-ASCII and tabs.
    static func isHeaderValue(_ value: Substring) -> Bool {
        value.unicodeScalars.allSatisfy { $0 == "\t" || (0x20...0x7E).contains($0.value) }
    }

    /// The object's headers, the source's fingerprint (`x-amz-meta-source-sha256` and
    /// `x-amz-meta-source-size`, which `batch --skip-existing` compares) included when known.
    func headers(sourceSHA256: String?, sourceSize: Int64? = nil) -> [(name: String, value: String)] {
        var headers: [(name: String, value: String)] = [("Content-Type", contentType)]
        if let cacheControl { headers.append(("Cache-Control", cacheControl)) }
        if let contentDisposition { headers.append(("Content-Disposition", contentDisposition)) }
        for entry in metadata {
            let equals = entry.firstIndex(of: "=")!
            headers.append(
                ("x-amz-meta-" + entry[..<equals].lowercased(), String(entry[entry.index(after: equals)...])))
        }
        if let sourceSHA256 { headers.append(("x-amz-meta-source-sha256", sourceSHA256)) }
        if let sourceSize { headers.append(("x-amz-meta-source-size", String(sourceSize))) }
        if let storageClass { headers.append(("x-amz-storage-class", storageClass)) }
        if let sse { headers.append(("x-amz-server-side-encryption", sse)) }
        if let sseKmsKeyId { headers.append(("x-amz-server-side-encryption-aws-kms-key-id", sseKmsKeyId)) }
        if let acl { headers.append(("x-amz-acl", acl)) }
        if let tagging { headers.append(("x-amz-tagging", tagging)) }
        if let expectedBucketOwner { headers.append(("x-amz-expected-bucket-owner", expectedBucketOwner)) }
        return headers
    }
}
