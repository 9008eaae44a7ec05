import Threads

#if canImport(Glibc)
    import Glibc
#endif

/// An S3 object written as a stream: the MP3 muxer's output sink when the destination is S3.
///
/// It has the four members of `AudioTranscode.OutputSink` (`rewritableWindow`, `write(_:at:)`,
/// `finish()`, `abort()`), so the command layer makes it a sink with one line,
/// `extension MultipartUpload: OutputSink {}`, and this target does not depend on the
/// transcoder.
///
/// How it works (the shape of awslabs/aws-c-s3's buffer pool and rclone's `lib/multipart`):
/// - Part 1 holds the ID3v2 tag and the Xing/Info + LAME frame, which the muxer rewrites at the
///   trailer. It stays in memory (`rewritableWindow` = the part size) and is uploaded last.
/// - Parts 2…N are filled by the writer, hashed as they are filled (MD5 for `Content-MD5`, SHA-256
///   for the signature, CRC32, and the CRC of the checksum algorithm when it is another), and
///   uploaded by `plan.concurrency` dedicated threads while encoding goes on. Buffers come from a
///   fixed pool of `plan.bufferCount` (part 1's included), allocated on first use and reused once
///   S3 has acknowledged their part; when all are busy, `write` waits.
/// - CreateMultipartUpload is deferred until the output outgrows part 1. Output that fits in one
///   part goes as a single PutObject at `finish()`.
/// - What is checked follows what the store answers. An ETag is compared with our MD5s (a part's
///   with its MD5, a multipart object's with the MD5 of the part MD5s plus `-N`) only when the
///   answer shows it is one: no SSE-KMS, DSSE-KMS or SSE-C header, and an MD5's shape. A checksum
///   the store answers is compared with ours (a full-object CRC: part 1's CRC combined in front of
///   the rest). A mismatch is an error, and the object is deleted so that nothing unverified
///   remains; an ETag that is not an MD5 is no mismatch. `UploadResult.verification` says which
///   checks were made.
/// - Never orphaned: on any failure after CreateMultipartUpload, the parts in flight settle, then
///   AbortMultipartUpload runs with its own retries. A successful Complete is never aborted.
///
/// `write` and `finish` are called from one thread at a time (the muxer's); `abort()` may be called
/// from any thread, also while the writer is blocked waiting for a buffer (it wakes up and throws).
/// Call `finish()` or `abort()` exactly once at the end: that also stops the upload threads.
public final class MultipartUpload: @unchecked Sendable {
    public let destination: UploadDestination
    public let plan: MultipartUploadPlan
    private let options: MultipartUploadOptions
    private let store: any MultipartUploadStore

    // The writer's state: touched only by `write` and `finish`, which run on one thread at a time.
    private var part1: PartBuffer?
    private var current: PartBuffer?
    private var nextPartNumber = 2
    private var written: Int64 = 0

    // Shared state, guarded by `condition`.
    private let condition = Condition()
    private var phase = Phase.open
    private var uploadID: String?
    private var creating = false
    private var failure: UploadError?
    private var cancelled = false
    private var freeBuffers: [PartBuffer] = []
    private var buffersAllocated = 0
    private var queue: [PartJob] = []
    private var inFlight = 0
    private var uploaded: [Int: UploadedPartRecord] = [:]
    private var stopWorkers = false
    private var abortProgress = AbortProgress.notStarted
    private var storedAbortError: UploadError?
    private var storedResult: UploadResult?
    private var stats = UploadStatistics()

    private enum Phase { case open, finishing, completing, completed, failed }
    private enum AbortProgress { case notStarted, running, done }

    private struct PartJob {
        var buffer: PartBuffer
        var digest: PartDigest
    }

    private struct UploadedPartRecord {
        var etag: String
        var digest: PartDigest
    }

    /// Object headers known only once the object is created (CreateMultipartUpload or PutObject),
    /// not when the upload begins: the source's SHA-256, computed while encoding starts.
    private let lateHeaders: (@Sendable () throws -> [(name: String, value: String)])?

    /// Checks `options` (see `MultipartUploadOptions.plan()`); sends nothing yet. `lateHeaders`, when
    /// given, is called once, when the object is created, and its headers join `destination.headers`.
    public init(
        destination: UploadDestination, store: any MultipartUploadStore,
        options: MultipartUploadOptions = MultipartUploadOptions(),
        lateHeaders: (@Sendable () throws -> [(name: String, value: String)])? = nil
    ) throws {
        self.destination = destination
        self.store = store
        self.options = options
        self.lateHeaders = lateHeaders
        self.plan = try options.plan()
    }

    /// `destination` with the late headers added: what CreateMultipartUpload or PutObject send.
    private func creationDestination() throws -> UploadDestination {
        guard let lateHeaders else { return destination }
        var complete = destination
        complete.headers += try lateHeaders()
        return complete
    }

    // MARK: - The sink

    /// Part 1 stays in memory until `finish()`, so its bytes can be rewritten.
    public var rewritableWindow: Int64? { Int64(plan.partSize) }

    /// Appends at the end of the stream, or rewrites bytes inside part 1. Blocks while every part
    /// buffer is busy; throws when the upload failed or was cancelled.
    public func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws {
        try checkWritable()
        guard !bytes.isEmpty else { return }
        guard offset >= 0, offset <= written else {
            throw UploadError(
                .invalidWrite,
                "write at offset \(offset) of \(destination) is past the "
                    + "\(written) bytes written so far; an upload is written in order")
        }
        guard offset < written else { return try append(bytes) }
        let rewriteEnd = min(offset + Int64(bytes.count), written)
        guard rewriteEnd <= Int64(plan.partSize), let part1 else {
            throw UploadError(
                .invalidWrite,
                "rewrite of bytes \(offset)..<\(rewriteEnd) of \(destination) is "
                    + "outside the first \(plan.partSize) bytes kept in memory; they were already uploaded")
        }
        let count = Int(rewriteEnd - offset)
        part1.overwrite(at: Int(offset), with: UnsafeRawBufferPointer(rebasing: bytes[..<count]))
        if count < bytes.count {
            try append(UnsafeRawBufferPointer(rebasing: bytes[count...]))
        }
    }

    /// Uploads what is left (the last streaming part, then part 1), completes the upload and verifies
    /// it; or sends one PutObject when the output fits in one part. On failure the upload is aborted
    /// before this throws. The outcome is in `result`.
    public func finish() throws {
        condition.lock()
        guard phase == .open else {
            condition.unlock()
            throw UploadError(.finished, "finish() called twice on the upload to \(destination)")
        }
        if failure != nil || cancelled {
            let error = failure ?? cancellationError()
            condition.unlock()
            throw failUpload(error)
        }
        phase = .finishing
        condition.unlock()

        do {
            let result = written > Int64(plan.partSize) ? try finishMultipart() : try finishSingle()
            condition.lock()
            storedResult = result
            condition.unlock()
            releaseMemory()
        } catch {
            let uploadError = error as? UploadError ?? UploadError(.remote, "\(error)", underlying: error)
            throw failUpload(uploadError)
        }
    }

    /// Leaves nothing behind: wakes a blocked writer, lets the parts in flight settle, then aborts the
    /// multipart upload (with retries). Does nothing after a successful Complete. Callable from any
    /// thread and more than once; returns when the abort is done. A failure to abort is in `abortError`.
    public func abort() {
        condition.lock()
        cancelled = true
        condition.broadcast()
        while phase == .completing { condition.wait() }
        let completed = phase == .completed
        condition.unlock()
        if !completed { _ = settleAndAbort() }
    }

    // MARK: - What the caller can read

    /// Set once `finish()` returned.
    public var result: UploadResult? { locked { storedResult } }

    /// Set when AbortMultipartUpload failed after its retries: the upload is left behind (and billed)
    /// until `s3transcode cleanup` removes it. Its message says so.
    public var abortError: UploadError? { locked { storedAbortError } }

    public var statistics: UploadStatistics { locked { stats } }

    // MARK: - Writing

    private func append(_ bytes: UnsafeRawBufferPointer) throws {
        var rest = bytes
        while !rest.isEmpty {
            let count: Int
            if written < Int64(plan.partSize) {
                let buffer = try part1 ?? takePart1()
                count = min(rest.count, buffer.capacity - buffer.count)
                buffer.append(UnsafeRawBufferPointer(rebasing: rest[..<count]), hashing: false)
                written += Int64(count)
            } else {
                let buffer = try current ?? startStreamingPart()
                count = min(rest.count, buffer.capacity - buffer.count)
                buffer.append(UnsafeRawBufferPointer(rebasing: rest[..<count]), hashing: true)
                written += Int64(count)
                if buffer.isFull {
                    current = nil
                    try handOff(buffer, digest: buffer.runningDigest())
                }
            }
            rest = UnsafeRawBufferPointer(rebasing: rest[count...])
        }
    }

    private func takePart1() throws -> PartBuffer {
        let buffer = try takeBuffer()
        buffer.partNumber = 1
        part1 = buffer
        return buffer
    }

    private func startStreamingPart() throws -> PartBuffer {
        guard nextPartNumber <= options.maxParts else {
            let error = UploadError(
                .outputTooLarge,
                "the output to \(destination) outgrew the store's "
                    + "\(partCountText(options.maxParts)) parts of \(formatByteSize(plan.partSize)); give a larger part "
                    + "size or the expected output size")
            locked { if failure == nil { failure = error } }
            throw error
        }
        let buffer = try takeBuffer()
        buffer.partNumber = nextPartNumber
        nextPartNumber += 1
        current = buffer
        return buffer
    }

    /// A free buffer, a new one while the pool is below `plan.bufferCount`, or a wait for one:
    /// this wait is the backpressure on the encoder.
    private func takeBuffer() throws -> PartBuffer {
        condition.lock()
        defer { condition.unlock() }
        var waited = false
        while true {
            if let failure { throw failure }
            if cancelled { throw cancellationError() }
            if let buffer = freeBuffers.popLast() { return buffer }
            if buffersAllocated < plan.bufferCount {
                let buffer = try PartBuffer(capacity: plan.partSize, checksum: options.checksum?.algorithm)
                buffersAllocated += 1
                stats.buffersAllocated = buffersAllocated
                return buffer
            }
            if !waited {
                waited = true
                stats.writerWaits += 1
            }
            condition.wait()
        }
    }

    /// Queues a filled part for the upload threads, creating the multipart upload first if needed.
    private func handOff(_ buffer: PartBuffer, digest: PartDigest) throws {
        try createUploadIfNeeded()
        condition.lock()
        defer { condition.unlock() }
        if let failure {
            recycle(buffer)
            throw failure
        }
        if cancelled {
            recycle(buffer)
            throw cancellationError()
        }
        queue.append(PartJob(buffer: buffer, digest: digest))
        condition.broadcast()
    }

    private func createUploadIfNeeded() throws {
        condition.lock()
        if let failure {
            condition.unlock()
            throw failure
        }
        if cancelled {
            condition.unlock()
            throw cancellationError()
        }
        if uploadID != nil {
            condition.unlock()
            return
        }
        creating = true
        condition.unlock()

        let outcome = Result {
            try store.createMultipartUpload(creationDestination(), checksum: options.checksum)
        }

        condition.lock()
        defer { condition.unlock() }
        creating = false
        condition.broadcast()
        switch outcome {
        case .success(let id):
            uploadID = id
            stats.multipartCreated = true
            for _ in 1...plan.concurrency {
                let thread = OSThread { [self] in runWorker(uploadID: id) }
                thread.start()
            }
        case .failure(let error):
            let uploadError = UploadError(
                .remote, "starting the multipart upload of \(destination) failed: \(error)",
                underlying: error)
            if failure == nil { failure = uploadError }
            throw uploadError
        }
        // An abort() that waited for `creating` now aborts this upload; the writer stops here.
        if cancelled { throw cancellationError() }
    }

    // MARK: - Upload threads

    private func runWorker(uploadID: String) {
        while let job = nextJob() {
            let outcome = uploadPart(job, uploadID: uploadID)
            condition.lock()
            inFlight -= 1
            switch outcome {
            case .success(let record):
                uploaded[job.buffer.partNumber] = record
                stats.partsUploaded += 1
            case .failure(let error):
                if failure == nil { failure = error }
            }
            recycle(job.buffer)
            condition.broadcast()
            condition.unlock()
        }
    }

    /// The next queued part, or nil when the threads should stop. After a failure or a cancellation
    /// queued parts are dropped, not sent.
    private func nextJob() -> PartJob? {
        condition.lock()
        defer { condition.unlock() }
        while true {
            if (failure != nil || cancelled) && !queue.isEmpty {
                dropQueue()
            }
            if !queue.isEmpty {
                let job = queue.removeFirst()
                inFlight += 1
                stats.peakPartsInFlight = max(stats.peakPartsInFlight, inFlight)
                return job
            }
            if stopWorkers { return nil }
            condition.wait()
        }
    }

    private func uploadPart(_ job: PartJob, uploadID: String) -> Result<UploadedPartRecord, UploadError> {
        let partNumber = job.buffer.partNumber
        let checksums = job.digest.checksums(options.checksum)
        let answer: UploadedPart
        do {
            answer = try store.uploadPart(
                destination, uploadID: uploadID, partNumber: partNumber,
                body: job.buffer.bytes, checksums: checksums,
                maxAttempts: options.partAttempts)
        } catch {
            return .failure(
                UploadError(
                    .remote,
                    "uploading part \(partNumber) of \(destination) failed after "
                        + "up to \(options.partAttempts) attempts: \(error)", underlying: error))
        }
        let etagIsMD5 = MultipartChecksum.etagIsMD5(
            answer.etag, multipart: false, encryption: answer.encryption.serverSideEncryption,
            customerKeyAlgorithm: answer.encryption.customerKeyAlgorithm)
        if etagIsMD5, MultipartChecksum.normalizedETag(answer.etag) != job.digest.md5Hex {
            return .failure(
                UploadError(
                    .integrity,
                    "S3 answered part \(partNumber) of \(destination) with ETag "
                        + "\(answer.etag), but the part's MD5 is \(job.digest.md5Hex): it was altered in transit"))
        }
        if options.validateAnsweredChecksums, let theirs = answer.checksum, let ours = checksums.checksum,
            !MultipartChecksum.sameChecksum(theirs, ours.base64)
        {
            return .failure(
                UploadError(
                    .integrity,
                    "S3 answered part \(partNumber) of \(destination) with "
                        + "\(ours.algorithm) \(theirs), but the part's \(ours.algorithm) is \(ours.base64): it was altered "
                        + "in transit"))
        }
        return .success(UploadedPartRecord(etag: answer.etag, digest: job.digest))
    }

    // MARK: - Finishing

    private func finishSingle() throws -> UploadResult {
        let body = try part1 ?? PartBuffer(capacity: 0)
        let digest = body.computeDigest()
        try enterCompleting()
        let stored: StoredObject
        do {
            stored = try store.putObject(
                creationDestination(), body: body.bytes,
                checksums: digest.checksums(options.checksum))
        } catch {
            throw UploadError(.remote, "uploading \(destination) failed: \(error)", underlying: error)
        }
        markCompleted()
        let checksum = options.checksum.map { ChecksumValue($0.algorithm, crc: digest.crc($0.algorithm)) }
        return try verify(
            stored, expectedETag: digest.md5Hex, checksum: checksum, crc32: digest.crc32, partCount: 1,
            multipart: false)
    }

    private func finishMultipart() throws -> UploadResult {
        if let last = current {
            current = nil
            try handOff(last, digest: last.runningDigest())
        }
        guard let part1 else { preconditionFailure("multipart output without part 1") }
        try handOff(part1, digest: part1.computeDigest())

        condition.lock()
        while (!queue.isEmpty || inFlight > 0) && failure == nil && !cancelled { condition.wait() }
        let records = uploaded
        let id = uploadID
        condition.unlock()
        try checkWritable()

        let partCount = nextPartNumber - 1
        guard let id, records.count == partCount else {
            throw UploadError(
                .remote,
                "the upload of \(destination) lost track of its parts "
                    + "(\(records.count) of \(partCount) acknowledged)")
        }
        let ordered = (1...partCount).compactMap { records[$0] }
        if options.equalPartSizes {
            // R2: every part but the last the same size, the last no larger. Part 1 is always full here.
            let lengths = ordered.map(\.digest.length)
            guard lengths.dropLast().allSatisfy({ $0 == plan.partSize }), lengths.last ?? 0 <= plan.partSize else {
                throw UploadError(
                    .invalidWrite,
                    "the parts of \(destination) are not all \(plan.partSize) bytes "
                        + "(from \(lengths.min() ?? 0) to \(lengths.max() ?? 0)), which this store requires")
            }
        }
        var crc32 = ordered[0].digest.crc32
        for record in ordered.dropFirst() {
            crc32 = MultipartChecksum.combineCRC32(crc32, record.digest.crc32, secondLength: record.digest.length)
        }
        var fullObject: ChecksumValue?
        if let checksum = options.checksum {
            var crc = ordered[0].digest.crc(checksum.algorithm)
            for record in ordered.dropFirst() {
                crc = MultipartChecksum.combine(
                    checksum.algorithm, crc, record.digest.crc(checksum.algorithm), secondLength: record.digest.length)
            }
            fullObject = ChecksumValue(checksum.algorithm, crc: crc)
        }
        let parts = ordered.enumerated().map { index, record in
            CompletedPart(
                partNumber: index + 1, etag: record.etag,
                checksum: options.checksum.map {
                    ChecksumValue($0.algorithm, crc: record.digest.crc($0.algorithm))
                })
        }

        try enterCompleting()
        let stored: StoredObject
        do {
            stored = try store.completeMultipartUpload(
                destination, uploadID: id, parts: parts,
                fullObjectChecksum: options.checksum?.fullObject == true ? fullObject : nil)
        } catch {
            throw UploadError(
                .remote, "completing the multipart upload of \(destination) failed: \(error)",
                underlying: error)
        }
        markCompleted()
        let expectedETag = MultipartChecksum.multipartETag(partMD5s: ordered.map(\.digest.md5))
        return try verify(
            stored, expectedETag: expectedETag,
            checksum: options.checksum?.fullObject == true ? fullObject : nil,
            crc32: crc32, partCount: partCount, multipart: true)
    }

    /// From here on an `abort()` waits for the outcome instead of aborting.
    private func enterCompleting() throws {
        condition.lock()
        defer { condition.unlock() }
        if let failure { throw failure }
        if cancelled { throw cancellationError() }
        phase = .completing
    }

    private func markCompleted() {
        condition.lock()
        phase = .completed
        stopWorkers = true
        condition.broadcast()
        condition.unlock()
    }

    /// Checks S3's answer against what we sent, as far as the answer allows: the ETag when it is an
    /// MD5, the checksum (`checksum`: the whole object's, FULL_OBJECT or a single PUT's) when the
    /// store answered one. On a mismatch the stored object is deleted (it was completed, so there is
    /// no upload left to abort) and the error says whether that worked.
    private func verify(
        _ stored: StoredObject, expectedETag: String, checksum: ChecksumValue?, crc32: UInt32,
        partCount: Int, multipart: Bool
    ) throws -> UploadResult {
        let etagShowsMD5 = MultipartChecksum.etagIsMD5(
            stored.etag, multipart: multipart, encryption: stored.encryption.serverSideEncryption,
            customerKeyAlgorithm: stored.encryption.customerKeyAlgorithm)
        let etagIsMD5 = etagShowsMD5 && (!multipart || options.multipartETagIsMD5OfMD5s)
        let etagMatches = MultipartChecksum.normalizedETag(stored.etag) == expectedETag
        // A COMPOSITE answer (`value-N`) is a checksum of the part checksums: the store checked
        // each part's against what we sent; there is no whole-object value to compare.
        let answeredChecksum =
            options.validateAnsweredChecksums
            ? stored.checksum.flatMap { $0.contains("-") ? nil : $0 } : nil
        let checksumMatches = checksum.flatMap { ours in
            answeredChecksum.map { MultipartChecksum.sameChecksum($0, ours.base64) }
        }
        if stored.foundByHeadObject {
            // The upload was gone at Complete. The object at the key is ours only if its MD5 ETag or
            // its full-object checksum is the one our parts give; otherwise it is someone else's
            // (or cannot be shown to be ours), and it is left alone.
            guard (etagIsMD5 && etagMatches) || checksumMatches == true else {
                throw UploadError(
                    .remote,
                    "completing the multipart upload of \(destination) failed: S3 no "
                        + "longer knows the upload (NoSuchUpload; was it aborted by a cleanup?) and the object at the "
                        + "key cannot be shown to be this upload's; upload again")
            }
        }
        var problems: [String] = []
        if etagIsMD5, !etagMatches {
            problems.append(
                "S3 reports ETag \(stored.etag) for \(destination), but the bytes sent give \(expectedETag)")
        }
        if let checksum, let theirs = answeredChecksum, checksumMatches == false {
            problems.append(
                "S3 reports \(checksum.algorithm) \(theirs) for \(destination), but the bytes sent give "
                    + "\(checksum.base64)")
        }
        let checksumConfirmed = checksumMatches == true
        if !problems.isEmpty {
            var message = problems.joined(separator: "; ")
            do {
                try store.deleteObject(destination, versionID: stored.versionID)
                message += "; the object was deleted, upload again"
            } catch {
                message += "; deleting the unverified object failed too (\(error)): delete \(destination) by hand"
            }
            throw UploadError(.integrity, message)
        }
        return UploadResult(
            bucket: destination.bucket, key: destination.key, etag: stored.etag, versionID: stored.versionID,
            partCount: partCount, byteCount: written, crc32: crc32, isMultipart: multipart,
            checksum: options.checksum.map {
                UploadChecksum($0.algorithm, fullObject: multipart ? $0.fullObject : true)
            },
            checksumConfirmedByServer: checksumConfirmed,
            verification: verificationText(
                etag: stored, etagShowsMD5: etagShowsMD5, etagIsMD5: etagIsMD5,
                checksumConfirmed: checksumConfirmed, multipart: multipart))
    }

    /// One line for `-v`: which checks the upload could make.
    private func verificationText(
        etag stored: StoredObject, etagShowsMD5: Bool, etagIsMD5: Bool,
        checksumConfirmed: Bool, multipart: Bool
    ) -> String {
        var checks = ["Content-MD5 of every \(multipart ? "part" : "body") checked by the store"]
        if etagIsMD5 {
            checks.append(multipart ? "ETag = MD5 of the part MD5s" : "ETag = MD5")
        } else {
            let why: String
            if let sse = stored.encryption.serverSideEncryption, sse.lowercased().hasPrefix("aws:kms") {
                why = "under \(sse)"
            } else if stored.encryption.customerKeyAlgorithm != nil {
                why = "under SSE-C"
            } else if etagShowsMD5 {
                why = "not MD5-based on this store"
            } else {
                why = "not MD5-shaped"
            }
            checks.append("ETag not compared (\(why))")
        }
        if let checksum = options.checksum {
            let what = multipart ? "\(checksum)" : "\(checksum.algorithm)"
            checks.append(checksumConfirmed ? "\(what) confirmed by the store" : "\(what) sent, checked by the store")
        } else {
            checks.append("no x-amz-checksum")
        }
        return "verified \(destination): " + checks.joined(separator: "; ")
    }

    // MARK: - Failing and aborting

    /// Records the failure, aborts the upload unless it was completed, and returns the error to throw
    /// (with the abort's own failure appended, if any).
    private func failUpload(_ error: UploadError) -> UploadError {
        condition.lock()
        if failure == nil { failure = error }
        let completed = phase == .completed
        if !completed { phase = .failed }
        condition.broadcast()
        condition.unlock()
        if completed { return error }
        if let abortError = settleAndAbort() { return error.appending(abortError.message) }
        return error
    }

    /// Drops queued parts, waits for the parts in flight (and a CreateMultipartUpload in progress),
    /// then aborts the multipart upload, once. Later callers wait for the first one's outcome.
    private func settleAndAbort() -> UploadError? {
        condition.lock()
        switch abortProgress {
        case .done:
            defer { condition.unlock() }
            return storedAbortError
        case .running:
            while abortProgress != .done { condition.wait() }
            defer { condition.unlock() }
            return storedAbortError
        case .notStarted:
            abortProgress = .running
        }
        dropQueue()
        while inFlight > 0 || creating { condition.wait() }
        dropQueue()
        let id = phase == .completed ? nil : uploadID
        stopWorkers = true
        condition.broadcast()
        condition.unlock()

        var abortError: UploadError?
        if let id {
            do {
                try store.abortMultipartUpload(destination, uploadID: id, maxAttempts: options.abortAttempts)
            } catch {
                abortError = UploadError(
                    .remote,
                    "aborting multipart upload \(id) of \(destination) failed: "
                        + "\(error); it is billed until removed: run `s3transcode cleanup s3://\(destination.bucket)/"
                        + "\(destination.key) --older-than 0s --yes`", underlying: error)
            }
        }

        condition.lock()
        if id != nil { stats.aborted = abortError == nil }
        storedAbortError = abortError
        abortProgress = .done
        freeBuffers.removeAll()
        condition.broadcast()
        condition.unlock()
        return abortError
    }

    /// Called with the lock held.
    private func dropQueue() {
        for job in queue { recycle(job.buffer) }
        queue.removeAll()
        condition.broadcast()
    }

    /// Called with the lock held: the buffer goes back to the pool for the next part.
    private func recycle(_ buffer: PartBuffer) {
        buffer.reset()
        freeBuffers.append(buffer)
    }

    private func releaseMemory() {
        part1 = nil
        current = nil
        locked { freeBuffers.removeAll() }
    }

    private func checkWritable() throws {
        try locked {
            if let failure { throw failure }
            if cancelled { throw cancellationError() }
            if phase == .completed || phase == .failed {
                throw UploadError(.finished, "the upload to \(destination) is already finished")
            }
        }
    }

    private func cancellationError() -> UploadError {
        UploadError(.cancelled, "the upload to \(destination) was cancelled")
    }

    private func locked<T>(_ body: () throws -> T) rethrows -> T {
        condition.lock()
        defer { condition.unlock() }
        return try body()
    }
}

/// What an upload stored.
public struct UploadResult: Sendable, Equatable {
    public var bucket: String
    public var key: String
    /// As S3 answered it (quoted).
    public var etag: String
    public var versionID: String?
    /// 1 for a single PutObject.
    public var partCount: Int
    public var byteCount: Int64
    /// The CRC32 of the whole object (computed whatever checksum was sent).
    public var crc32: UInt32
    public var isMultipart: Bool
    /// The `x-amz-checksum-*` the upload sent, nil for none.
    public var checksum: UploadChecksum?
    /// Whether the store answered the whole object's checksum (which matched, or this would be an
    /// error). False when it does not return checksums (moto 5.2 does not), when the checksum is
    /// COMPOSITE, or when none was sent.
    public var checksumConfirmedByServer: Bool
    /// Which checks were made, for `-v`: "verified s3://b/k: …; ETag = MD5 of the part MD5s; …".
    public var verification: String
}

/// Counters of one upload, for `-v` and for tests.
public struct UploadStatistics: Sendable, Equatable {
    /// Part buffers allocated, part 1's included; never more than `plan.bufferCount`.
    public var buffersAllocated = 0
    /// The most parts uploading at the same moment; never more than `plan.concurrency`.
    public var peakPartsInFlight = 0
    /// How many times `write` had to wait for a free buffer (backpressure).
    public var writerWaits = 0
    /// Parts acknowledged by S3.
    public var partsUploaded = 0
    public var multipartCreated = false
    /// Whether AbortMultipartUpload succeeded.
    public var aborted = false
}
