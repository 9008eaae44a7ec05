/// How a streaming multipart upload sizes its parts, bounds its memory and checks its result.
///
/// ## Why these defaults
/// The whole process must peak at 64 MiB RSS or less whatever the input's length. The release
/// binary idles at about 40 MiB (Debian's FFmpeg libraries about 25 MiB, the Swift runtime and
/// Foundation the rest) and the encode itself adds about 9 MiB, which leaves about 15 MiB for part
/// buffers, curl and the XML parser. So the defaults are S3's minimum part size, 5 MiB, and a budget
/// of 15 MiB: three buffers, one of which is part 1 (kept until the trailer), one being filled by
/// the encoder and one being uploaded. A recycled buffer gives its pages back (see `PartBuffer`),
/// so the third buffer is resident only while an upload lags the encoder: measured on a 10-minute
/// WAV to moto, 61.5 MiB peak with the default budget, the same as with a 10 MiB budget.
///
/// A deeper pipeline buys nothing for one file: the MP3 encoder makes a few MB/s of output (CBR 192
/// at about 100x realtime is 2.4 MB/s), so filling a 5 MiB part takes about 2 s while uploading it
/// takes a fraction of that. One part in flight hides the upload behind encoding; `concurrency` 2
/// lets a second full part go out at once when one upload is slow (a retry), before the encoder
/// has to wait. With only two buffers (a 10 MiB budget) the encoder would stop during every part
/// upload. Memory stays constant in the input's length: parts are recycled, not accumulated.
public struct MultipartUploadOptions: Sendable, Equatable {
    public static let mebibyte = 1 << 20
    /// S3's minimum size of every part but the last.
    public static let minimumPartSize = 5 * mebibyte
    /// S3's maximum part size, 5 GiB.
    public static let maximumPartSize = 5 * 1024 * mebibyte
    /// S3's maximum number of parts in one upload.
    public static let maximumPartCount = 10_000

    /// Bytes per part (the last part may be smaller). Grown by `plan()` when `expectedSize` needs it.
    public var partSize: Int
    /// At most this many parts are uploaded at once (also bounded by the buffers the budget allows).
    public var concurrency: Int
    /// Bytes of part buffers, part 1's included: `memoryBudget / partSize` buffers (at least 2).
    /// nil: three parts of the planned part size (15 MiB for 5 MiB parts), so that a part size grown
    /// for a long input does not fail for want of a budget nobody asked for.
    public var memoryBudget: Int?
    /// What the output is expected to weigh (duration x bitrate, or the input's size), to grow the
    /// part size so that it fits in `maxParts` parts; nil when unknown.
    public var expectedSize: Int64?
    /// Attempts per part, retries included (higher than for single calls: a lost part loses the upload).
    public var partAttempts: Int
    /// Attempts for AbortMultipartUpload, retries included.
    public var abortAttempts: Int
    /// The `x-amz-checksum-*` the upload sends (FULL_OBJECT or COMPOSITE), or nil for none: only
    /// Content-MD5 then (for stores that refuse the headers, and `when_required`).
    public var checksum: UploadChecksum?
    /// Compare the checksums the store answers with ours (`response_checksum_validation`
    /// `when_supported`); false leaves them unread.
    public var validateAnsweredChecksums: Bool
    /// The store's limit of parts per upload (10,000 on AWS, 1,000 on Scaleway).
    public var maxParts: Int
    /// The store needs every part but the last to be exactly the part size (R2): checked before Complete.
    public var equalPartSizes: Bool
    /// Whether the store's multipart ETag is the MD5 of the part MD5s plus `-N` when it has that
    /// shape (see `StoreProfile.multipartETagIsMD5OfMD5s`). Part and single-PUT ETags are compared
    /// with our MD5s whenever the answer shows they are MD5s, whatever this says.
    public var multipartETagIsMD5OfMD5s: Bool

    public init(
        partSize: Int = minimumPartSize,
        concurrency: Int = 2,
        memoryBudget: Int? = nil,
        expectedSize: Int64? = nil,
        partAttempts: Int = 5,
        abortAttempts: Int = 5,
        checksum: UploadChecksum? = UploadChecksum(.crc32),
        validateAnsweredChecksums: Bool = true,
        maxParts: Int = maximumPartCount,
        equalPartSizes: Bool = false,
        multipartETagIsMD5OfMD5s: Bool = true
    ) {
        self.partSize = partSize
        self.concurrency = concurrency
        self.memoryBudget = memoryBudget
        self.expectedSize = expectedSize
        self.partAttempts = partAttempts
        self.abortAttempts = abortAttempts
        self.checksum = checksum
        self.validateAnsweredChecksums = validateAnsweredChecksums
        self.maxParts = maxParts
        self.equalPartSizes = equalPartSizes
        self.multipartETagIsMD5OfMD5s = multipartETagIsMD5OfMD5s
    }

    /// These options with what `store` needs: its part limit, its part-size rule and its ETags.
    /// The checksum is chosen by the caller (`--checksum`, `when_required`, the store's default).
    public func applying(_ store: StoreProfile) -> MultipartUploadOptions {
        var options = self
        options.maxParts = store.maxParts
        options.equalPartSizes = store.equalPartSizes
        options.multipartETagIsMD5OfMD5s = store.multipartETagIsMD5OfMD5s
        return options
    }

    /// Checks the options and works out part size, buffer count and worker count.
    public func plan() throws -> MultipartUploadPlan {
        typealias O = MultipartUploadOptions
        guard partSize >= O.minimumPartSize, partSize <= O.maximumPartSize else {
            throw UploadError(
                .invalidOptions,
                "part size \(formatByteSize(partSize)) is outside S3's limits; "
                    + "use a part size from 5 MiB to 5 GiB (--part-size 5M to 5G)")
        }
        guard concurrency >= 1 else {
            throw UploadError(.invalidOptions, "concurrency \(concurrency) must be at least 1")
        }
        guard partAttempts >= 1, abortAttempts >= 1 else {
            throw UploadError(.invalidOptions, "attempt counts must be at least 1")
        }
        guard maxParts >= 1, maxParts <= O.maximumPartCount else {
            throw UploadError(.invalidOptions, "a limit of \(maxParts) parts is outside 1…10,000")
        }
        var size = partSize
        if let expected = expectedSize, expected > 0 {
            // 10 % headroom: the expected size is an estimate (a VBR encode can come out larger).
            let withHeadroom = expected + expected / 10
            let needed = (withHeadroom + Int64(maxParts) - 1) / Int64(maxParts)
            if needed > Int64(size) {
                let mib = Int64(O.mebibyte)
                let rounded = (needed + mib - 1) / mib * mib
                guard rounded <= Int64(O.maximumPartSize) else {
                    throw UploadError(
                        .outputTooLarge,
                        "an expected output of \(formatByteSize(Int(expected))) does "
                            + "not fit in \(partCountText(maxParts)) parts of at most 5 GiB")
                }
                size = Int(rounded)
            }
        }
        let budget = memoryBudget ?? 3 * size
        let buffers = budget / size
        guard buffers >= 2 else {
            let grown =
                size == partSize
                ? "" : " (grown from \(formatByteSize(partSize)) to fit \(partCountText(maxParts)) parts)"
            throw UploadError(
                .invalidOptions,
                "a memory budget of \(formatByteSize(budget)) is too small for "
                    + "parts of \(formatByteSize(size))\(grown): part 1 stays in memory until the end and one more part "
                    + "streams, so it needs at least \(formatByteSize(2 * size)); raise the memory budget (--max-memory)"
            )
        }
        return MultipartUploadPlan(partSize: size, bufferCount: buffers, concurrency: min(concurrency, buffers - 1))
    }
}

/// Part size and bounds an upload runs with, resolved from `MultipartUploadOptions`.
public struct MultipartUploadPlan: Sendable, Equatable {
    /// Every part but the last is this size; part 1 (rewritable, uploaded last) too.
    public let partSize: Int
    /// Part buffers the budget allows, part 1's included. Memory never exceeds `bufferCount * partSize`.
    public let bufferCount: Int
    /// Upload threads: at most this many parts in flight.
    public let concurrency: Int

    public init(partSize: Int, bufferCount: Int, concurrency: Int) {
        self.partSize = partSize
        self.bufferCount = bufferCount
        self.concurrency = concurrency
    }
}

/// `300 bytes`, `16 KiB`, `5 MiB`, `1.5 GiB`: sizes in messages and summaries, everywhere (one decimal
/// at most, none when it is zero).
public func formatByteSize<Size: BinaryInteger>(_ bytes: Size) -> String {
    let units = ["KiB", "MiB", "GiB", "TiB"]
    guard bytes >= 1024 else { return "\(bytes) bytes" }
    var value = Double(bytes) / 1024
    var unit = 0
    while value >= 1024, unit < units.count - 1 {
        value /= 1024
        unit += 1
    }
    var rounded = (value * 10).rounded() / 10
    if rounded >= 1024, unit < units.count - 1 {  // 1023.96 KiB is 1 MiB, not 1024 KiB
        rounded = 1
        unit += 1
    }
    return (rounded == rounded.rounded() ? String(Int(rounded)) : String(rounded)) + " " + units[unit]
}

/// `10,000`, `1,000`: part counts in messages.
func partCountText(_ count: Int) -> String {
    let digits = Array(String(count))
    var out = ""
    for (index, digit) in digits.enumerated() {
        if index > 0, (digits.count - index) % 3 == 0 { out.append(",") }
        out.append(digit)
    }
    return out
}
