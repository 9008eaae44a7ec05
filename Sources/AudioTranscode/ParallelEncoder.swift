import CAVCodec
import CAVFormat
import CAVUtil
import Threads

/// Where the segments of a parallel encode start and end, in encoder frames (1152 samples, 576
/// for MPEG-2 and 2.5 rates) counted from the first frame of audio.
///
/// Segment `s` keeps the frames from `coreStart(s)` to the next segment's join. Its encoder is fed
/// the audio from `inputStart(s)`: `warmUp` frames before its first kept frame, which prime the
/// encoder's psychoacoustic state and its overlap; and, unless it is the last segment, up to
/// `inputEnd(s)`: `candidates` frames past the next segment's start, where the join may be made,
/// and `lookAhead` more for the encoder's own look-ahead.
struct SegmentPlan: Equatable {
    /// Frames between segment starts; a multiple of 98, so that each encoder starts at a frame
    /// whose position in the padding-bit cycle (49 frames at 44.1 kHz, 2 at 32 kHz) is the serial
    /// encode's: its frame sizes are then the serial encode's.
    var length: Int
    var warmUp = 40
    var candidates = 8
    var lookAhead = 2

    static let paddingCycle = 98
    /// About 26 s at 44.1 kHz (52 s at 22.05 kHz, where frames hold 576 samples).
    static let defaultLength = 980

    init(length: Int = SegmentPlan.defaultLength) {
        self.length = max(Self.paddingCycle, length / Self.paddingCycle * Self.paddingCycle)
    }

    func inputStart(_ segment: Int) -> Int { segment * length }
    func coreStart(_ segment: Int) -> Int { segment == 0 ? 0 : segment * length + warmUp }
    func inputEnd(_ segment: Int) -> Int { coreStart(segment + 1) + candidates + lookAhead }
    func joinCandidates(_ segment: Int) -> Range<Int> { coreStart(segment)..<(coreStart(segment) + candidates) }
}

/// Encodes the frames of one input on several threads: the calling thread cuts the converted audio
/// into segments, worker threads (at most `inFlight`, started once and reused) encode one segment
/// each with its own libmp3lame encoder, and the calling thread joins the segments' frames in order
/// (`FrameJoin`) and hands them to the one muxer.
///
/// A segment goes to a worker when its first frame is read, and the worker encodes its audio as it
/// arrives, giving back each page it has read: segments are not held whole. The calling thread reads
/// at most `bufferLimit` frames ahead of the encoders (over every segment), and a segment that no
/// worker has taken yet gets only its overlap with the segment before (whose input ends there).
/// One reader must read the rest of the other workers' segments before a freed worker's next segment
/// starts: with the workers' starts spread evenly over a segment, that is half a segment for 2
/// workers, (N − 1) halves for N. The limit is that plus `lead`: read ahead before the hand-over, so
/// the freed worker finds its next segment's first frames ready; and it keeps the workers' starts
/// spread (a freed worker waits when the others are further behind) instead of letting two workers
/// run in step and a whole segment be read ahead at every other hand-over.
final class ParallelEncoder {
    let plan: SegmentPlan
    let threads: Int
    let frameSize: Int32
    let mayEnlarge: Bool
    let makeEncoder: () throws -> CodecContext
    let writeFrame: (EncodedFrame) throws -> Void
    let isCancelled: () -> Bool
    /// The input's name, for messages.
    let name: String
    /// Frames read ahead beyond the rest of the other workers' segments (`bufferLimit`).
    static let lead = 128
    /// Frames of audio read and not yet encoded, over every segment, beyond which the reader waits.
    var bufferLimit: Int {
        let segmentInput = plan.inputEnd(1) - plan.inputStart(1)
        return (inFlight - 1) * segmentInput / 2 + Self.lead
    }

    private let state = SharedState()
    /// The segments still receiving audio, oldest first (two while they overlap).
    private var open: [SegmentAudio] = []
    private var nextSegment = 0
    private var frameIndex = 0
    private var lastSegment = Int.max
    private var joiner: Joiner

    /// One per segment after the first.
    var joins: [SegmentJoin] { joiner.joins }
    var segments: Int { nextSegment }
    private(set) var framesWritten: Int64 = 0
    /// Worker threads started for this encode (never more than `inFlight`, however many segments).
    var workerThreads: Int { state.workerThreads }
    /// The most frames of audio read and not yet encoded there have been, over every segment.
    var mostFramesBuffered: Int { state.mostBuffered }

    /// Segments encoded at once: `threads`, or fewer when `memory` cannot hold that many segments'
    /// audio plus the one being filled.
    private(set) var inFlight: Int
    let memory: Int?

    init(
        plan: SegmentPlan, threads: Int, memory: Int? = nil, frameSize: Int32, mayEnlarge: Bool,
        makeEncoder: @escaping () throws -> CodecContext, writeFrame: @escaping (EncodedFrame) throws -> Void,
        isCancelled: @escaping () -> Bool, name: String
    ) {
        self.name = name
        self.plan = plan
        self.threads = max(1, threads)
        self.memory = memory
        inFlight = self.threads
        self.frameSize = frameSize
        self.mayEnlarge = mayEnlarge
        self.makeEncoder = makeEncoder
        self.writeFrame = writeFrame
        self.isCancelled = isCancelled
        joiner = Joiner(plan: plan, mayEnlarge: mayEnlarge)
    }

    deinit {
        // Never leave a worker running: on an error path the workers see the flag and stop.
        state.cancel()
        state.close()
        state.waitForWorkersToExit()
    }

    /// Takes one encoder frame of converted audio (full, or the last one, shorter).
    func add(_ frame: UnsafeMutablePointer<AVFrame>) throws {
        if frameIndex == plan.inputStart(nextSegment) {
            if nextSegment == 0, let memory {
                let segmentBytes =
                    (plan.inputEnd(0) + 1) * Int(frameSize) * Int(frame.pointee.ch_layout.nb_channels)
                    * Int(av_get_bytes_per_sample(AVSampleFormat(frame.pointee.format)))
                inFlight = max(1, min(threads, memory / segmentBytes - 1))
            }
            let audio = SegmentAudio(
                index: nextSegment, firstFrame: frameIndex, format: AVSampleFormat(frame.pointee.format),
                channels: Int(frame.pointee.ch_layout.nb_channels), frameSize: Int(frameSize),
                capacity: (plan.inputEnd(nextSegment) - frameIndex) * Int(frameSize))
            open.append(audio)
            nextSegment += 1
            try submit(audio)
        }
        let overlap = plan.inputEnd(0) - plan.inputStart(1)
        while state.waitForRoom(open: open, overlap: overlap, limit: max(bufferLimit, 2 * overlap)) {
            try joinReady()
        }
        try joinReady()
        for segment in open { segment.append(frame) }
        state.appended(Int(frame.pointee.nb_samples), to: open)
        frameIndex += 1
        if let oldest = open.first, frameIndex == plan.inputEnd(oldest.index) {
            open.removeFirst()
            state.complete([oldest])
        }
        try joinReady()
    }

    /// Encodes the rest, joins everything and writes it.
    func finish() throws {
        // The oldest open segment could not be closed: it takes the input to its end and is flushed
        // as the serial encode is. A younger one (only warm-up or a few frames so far) is dropped:
        // its worker stops at its few frames, and its result is never joined.
        if let last = open.first {
            nextSegment = last.index + 1
            lastSegment = last.index
            state.complete(open)
            open = []
        }
        while state.isEncoding {
            try joinReady()
            state.waitForResult()
        }
        try joinReady()
        for frame in joiner.finish() { try write(frame) }
        state.close()
    }

    /// Queues `audio`'s encode for the next free worker; starts a worker when none is free and
    /// fewer than `inFlight` run.
    private func submit(_ audio: SegmentAudio) throws {
        let encoder = try makeEncoder()
        let job = SegmentJob(audio: audio, encoder: encoder, state: state)
        if state.queue(job, inFlight: inFlight) {
            OSThread.detachNewThread { [state] in
                while let job = state.nextJob() { job.run() }
            }
        }
    }

    /// Joins and writes the segments that are done, in order.
    private func joinReady() throws {
        if isCancelled() {
            state.cancel()
            throw TranscodeError(.cancelled, "\(name): transcode cancelled")
        }
        if let error = state.firstError { throw error }
        // A segment after the last (dropped by `finish`) may have a result too: it is never joined.
        while joiner.nextSegment <= lastSegment, let result = state.take(joiner.nextSegment) {
            guard case .success(let frames) = result else {
                throw state.firstError ?? TranscodeError(.cancelled, "\(name): transcode cancelled")
            }
            let segment = joiner.nextSegment
            for frame in try joiner.add(segment: segment, frames: frames, isLast: segment == lastSegment) {
                try write(frame)
            }
        }
    }

    private func write(_ frame: EncodedFrame) throws {
        try writeFrame(frame)
        framesWritten += 1
    }
}

/// The segments' order and joins, on the calling thread.
struct Joiner {
    let plan: SegmentPlan
    let mayEnlarge: Bool
    private(set) var nextSegment = 0
    private(set) var joins: [SegmentJoin] = []
    private var pending: [EncodedFrame] = []
    private var pendingFirst = 0

    init(plan: SegmentPlan, mayEnlarge: Bool) {
        self.plan = plan
        self.mayEnlarge = mayEnlarge
    }

    /// Takes segment `segment`'s frames (from its input start); returns the frames now final.
    mutating func add(segment: Int, frames: [EncodedFrame], isLast: Bool) throws -> [EncodedFrame] {
        defer { nextSegment += 1 }
        guard segment > 0 else {
            pending = frames
            pendingFirst = 0
            return []
        }
        let candidates = plan.joinCandidates(segment)
        let rightFirst = plan.inputStart(segment)
        let needed = isLast ? Int.max : plan.joinCandidates(segment + 1).upperBound
        guard
            let splice = FrameJoin.splice(
                left: pending[...], leftFirst: pendingFirst, right: frames[...], rightFirst: rightFirst,
                candidates: candidates, needed: needed, mayEnlarge: mayEnlarge)
                ?? FrameJoin.splice(
                    left: pending[...], leftFirst: pendingFirst, right: frames[...], rightFirst: rightFirst,
                    candidates: candidates, needed: needed, mayEnlarge: true)
        else {
            throw TranscodeError(
                .internalFailure,
                "the MP3 segments could not be joined at frame \(candidates.lowerBound); run with --threads 1")
        }
        let cut = splice.frame - pendingFirst
        var left = Array(pending[..<cut])
        left.replaceSubrange((cut - splice.leftTail.count)..<cut, with: splice.leftTail)
        var right = Array(frames[(splice.frame - rightFirst)...].prefix(needed - splice.frame))
        right.replaceSubrange(0..<splice.rightHead.count, with: splice.rightHead)
        pending = right
        pendingFirst = splice.frame
        joins.append(
            SegmentJoin(
                frame: splice.frame, shift: splice.shift, enlargedFrames: splice.enlarged,
                contentMatches: splice.contentMatches))
        return left
    }

    mutating func finish() -> [EncodedFrame] {
        defer { pending = [] }
        return pending
    }
}

/// One channel of a segment's audio in pages of its own (`MappedBuffer`): the worker gives each page
/// back to the system once it has read it, and the rest goes back when the plane is freed. As Swift
/// arrays (malloc) the planes, megabytes each, allocated on the calling thread and freed on a
/// worker's, stayed resident: glibc raises its mmap threshold to the size of the first mapped block
/// freed, so later ones came from the heap (a 10-minute WAV to a file with 2 threads, portable
/// binary: 43 MiB peak as arrays, 35-37 MiB mapped; the MP3 is the same).
final class MappedPlane: @unchecked Sendable {  // appended to by the calling thread, read behind it by one worker
    private let memory: MappedBuffer
    private var count = 0

    init(capacity: Int) {
        guard let memory = MappedBuffer(capacity: max(capacity, 1)) else {
            fatalError("out of memory: \(capacity) bytes for segment audio")
        }
        self.memory = memory
    }

    /// The calling thread's side: the segment's capacity is planned for its whole input.
    func append(_ bytes: UnsafeRawBufferPointer) {
        precondition(count + bytes.count <= memory.capacity, "segment audio beyond its plan")
        if let source = bytes.baseAddress { (memory.base + count).copyMemory(from: source, byteCount: bytes.count) }
        count += bytes.count
    }

    /// The worker's side: bytes the calling thread has published (`SharedState.appended`).
    func bytes(at offset: Int, count: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: memory.base + offset, count: count)
    }

    /// The worker's side: gives back the pages wholly before `offset`, read already.
    func discard(before offset: Int) { memory.discard(before: offset) }
}

/// One segment's converted audio, planar, as the encoder takes it: written by the calling thread
/// and read, behind it, by the worker encoding the segment; how far each has got is in `SharedState`.
final class SegmentAudio: @unchecked Sendable {  // planes: see MappedPlane; the counts: under SharedState's lock
    let index: Int
    let firstFrame: Int
    let format: AVSampleFormat
    let channels: Int
    let bytesPerSample: Int
    let frameSize: Int
    let planes: [MappedPlane]
    /// Frames the segment's plan gives it at most.
    let capacityFrames: Int

    // Under `SharedState`'s condition.
    /// Frames and samples (per channel) the calling thread has written.
    var frames = 0
    var samples = 0
    /// The input of this segment is all there.
    var isComplete = false
    /// Frames the worker has read.
    var consumed = 0
    var isTaken = false

    /// `capacity`: samples per channel the segment will hold.
    init(index: Int, firstFrame: Int, format: AVSampleFormat, channels: Int, frameSize: Int, capacity: Int) {
        self.index = index
        self.firstFrame = firstFrame
        self.format = format
        self.channels = channels
        self.frameSize = frameSize
        capacityFrames = capacity / frameSize
        bytesPerSample = Int(av_get_bytes_per_sample(format))
        planes = (0..<channels).map { _ in MappedPlane(capacity: capacity * Int(av_get_bytes_per_sample(format))) }
    }

    /// The calling thread's side; `SharedState.appended` then publishes it.
    func append(_ frame: UnsafeMutablePointer<AVFrame>) {
        let count = Int(frame.pointee.nb_samples)
        for channel in 0..<channels {
            let plane = UnsafePointer<UInt8>(frame.pointee.extended_data[channel]!)
            planes[channel].append(UnsafeRawBufferPointer(start: plane, count: count * bytesPerSample))
        }
    }
}

/// What the workers and the calling thread share, under one condition variable: the queue of
/// segments to encode, the workers, how far each segment has been read and encoded, the results.
final class SharedState: @unchecked Sendable {  // every property is read and written under `condition`
    private let condition = Condition()
    private var results: [Int: Result<[EncodedFrame], any Error>] = [:]
    /// Segments queued or being encoded.
    private var running = 0
    private var cancelled = false
    private var error: (any Error)?
    private var jobs: [SegmentJob] = []
    private var workers = 0
    private var idleWorkers = 0
    private var startedWorkers = 0
    private var closed = false
    /// Workers waiting for audio, and whether the calling thread waits for room.
    private var starving = 0
    private var readerWaits = false
    /// Frames read and not yet encoded, over every segment, and the most there have been.
    private var buffered = 0
    private var mostBufferedFrames = 0

    var isCancelled: Bool { condition.withLock { cancelled } }
    var firstError: (any Error)? { condition.withLock { error } }
    var workerThreads: Int { condition.withLock { startedWorkers } }
    var mostBuffered: Int { condition.withLock { mostBufferedFrames } }

    /// Queues `job`; true when the caller must start a worker for it (none is idle, fewer than
    /// `inFlight` run).
    func queue(_ job: SegmentJob, inFlight: Int) -> Bool {
        condition.withLock {
            running += 1
            jobs.append(job)
            condition.broadcast()
            guard idleWorkers < jobs.count, workers < inFlight else { return false }
            workers += 1
            startedWorkers += 1
            return true
        }
    }

    /// A worker's next job, in order; nil when the encode is over (the worker then ends).
    func nextJob() -> SegmentJob? {
        condition.withLock {
            while jobs.isEmpty && !closed {
                if readerWaits { condition.broadcast() }  // a free worker: the reader may read on
                idleWorkers += 1
                condition.wait()
                idleWorkers -= 1
            }
            guard !jobs.isEmpty else {
                workers -= 1
                condition.broadcast()
                return nil
            }
            let job = jobs.removeFirst()
            job.audio.isTaken = true
            condition.broadcast()
            return job
        }
    }

    func close() {
        condition.withLock {
            closed = true
            condition.broadcast()
        }
    }

    func waitForWorkersToExit() { condition.withLock { while workers > 0 { condition.wait() } } }

    /// The calling thread, before it reads another frame into `open`: waits once (and returns true)
    /// when that frame would only be buffered: a segment no worker has taken already holds its
    /// `overlap` (the input of the segment before it is complete, so a worker will be free), or
    /// `limit` frames are read and not encoded (more than `overlap`: some are in a segment a worker
    /// has, so the workers' progress will wake the reader).
    func waitForRoom(open: [SegmentAudio], overlap: Int, limit: Int) -> Bool {
        condition.withLock {
            guard !cancelled, error == nil else { return false }
            let queuedFull = open.contains { !$0.isTaken && $0.frames >= overlap }
            guard queuedFull || buffered >= limit else { return false }
            readerWaits = true
            condition.wait()
            readerWaits = false
            return true
        }
    }

    /// The calling thread has written one more frame of `samples` to each of `segments`.
    func appended(_ samples: Int, to segments: [SegmentAudio]) {
        condition.withLock {
            for segment in segments {
                segment.frames += 1
                segment.samples += samples
            }
            buffered += segments.count
            mostBufferedFrames = max(mostBufferedFrames, buffered)
            if starving > 0 { condition.broadcast() }
        }
    }

    /// No more audio for `segments`.
    func complete(_ segments: [SegmentAudio]) {
        condition.withLock {
            for segment in segments { segment.isComplete = true }
            condition.broadcast()
        }
    }

    /// A worker has read `frames` of `audio` (from `before`); returns the frames and samples written
    /// so far and whether that is all, waiting for more when it has read them all. Throws when the
    /// encode is cancelled.
    func progress(_ audio: SegmentAudio, read frames: Int) throws -> (frames: Int, samples: Int, isComplete: Bool) {
        try condition.withLock {
            buffered -= frames - audio.consumed
            audio.consumed = frames
            if readerWaits { condition.broadcast() }
            while audio.frames == frames && !audio.isComplete && !cancelled {
                starving += 1
                condition.wait()
                starving -= 1
            }
            if cancelled { throw CancelledSegment() }
            return (audio.frames, audio.samples, audio.isComplete)
        }
    }

    func finished(_ audio: SegmentAudio, _ result: Result<[EncodedFrame], any Error>) {
        condition.withLock {
            running -= 1
            buffered -= audio.frames - audio.consumed
            audio.consumed = audio.frames
            if case .failure(let failure) = result, error == nil, !(failure is CancelledSegment) {
                error = failure
                cancelled = true
            }
            results[audio.index] = result
            condition.broadcast()
        }
    }

    func cancel() {
        condition.withLock {
            cancelled = true
            condition.broadcast()
        }
    }

    func take(_ segment: Int) -> Result<[EncodedFrame], any Error>? {
        condition.withLock { results.removeValue(forKey: segment) }
    }

    /// Whether a segment is still queued or being encoded.
    var isEncoding: Bool { condition.withLock { running > 0 } }

    func waitForResult() {
        condition.withLock {
            let known = results.count
            while running > 0 && results.count == known && error == nil { condition.wait() }
        }
    }
}

/// A worker stopped because another failed or the transcode was cancelled.
struct CancelledSegment: Error {}

/// One segment's encode, run by a worker.
final class SegmentJob: @unchecked Sendable {  // handed whole to one worker thread
    let audio: SegmentAudio
    let encoder: CodecContext
    let state: SharedState
    /// Frames between the worker's reports of how far it has read (and its check for cancellation).
    static let stride = 32

    init(audio: SegmentAudio, encoder: CodecContext, state: SharedState) {
        self.audio = audio
        self.encoder = encoder
        self.state = state
    }

    func run() {
        let result = Result { try encode() }
        state.finished(audio, result)
    }

    /// Every frame the encoder gives for this segment's audio as it arrives, flushed at its end (a
    /// segment that is not the last has look-ahead frames after its candidates, so the flush touches
    /// none it keeps). Pages read are given back every `stride` frames.
    private func encode() throws -> [EncodedFrame] {
        let frame = try Frame()
        let packet = try Packet()
        let pointer = frame.pointer
        pointer.pointee.nb_samples = Int32(audio.frameSize)
        pointer.pointee.format = audio.format.rawValue
        pointer.pointee.sample_rate = encoder.pointer.pointee.sample_rate
        try check(
            av_channel_layout_copy(&pointer.pointee.ch_layout, &encoder.pointer.pointee.ch_layout),
            "av_channel_layout_copy")
        try check(av_frame_get_buffer(pointer, 0), "av_frame_get_buffer")
        var frames: [EncodedFrame] = []
        frames.reserveCapacity(audio.capacityFrames + 4)
        var index = 0
        var written = try state.progress(audio, read: 0)
        while true {
            if index == written.frames || index % Self.stride == 0 && index > 0 {
                if index == written.frames && written.isComplete { break }
                let bytesRead = index * audio.frameSize * audio.bytesPerSample
                for plane in audio.planes { plane.discard(before: bytesRead) }
                written = try state.progress(audio, read: index)
                if index == written.frames { break }
            }
            try check(av_frame_make_writable(pointer), "av_frame_make_writable")
            let samples = min(audio.frameSize, written.samples - index * audio.frameSize)
            let offset = index * audio.frameSize * audio.bytesPerSample
            for channel in 0..<audio.channels {
                UnsafeMutableRawPointer(pointer.pointee.extended_data[channel]!).copyMemory(
                    from: audio.planes[channel].bytes(at: offset, count: samples * audio.bytesPerSample).baseAddress!,
                    byteCount: samples * audio.bytesPerSample)
            }
            pointer.pointee.nb_samples = Int32(samples)
            pointer.pointee.pts = Int64((audio.firstFrame + index) * audio.frameSize)
            try encoder.encode(pointer, into: packet.pointer) { frames.append(try EncodedFrame(taking: $0)) }
            index += 1
        }
        try encoder.encode(nil, into: packet.pointer) { frames.append(try EncodedFrame(taking: $0)) }
        return frames
    }
}

extension EncodedFrame {
    /// The frame an encoder packet holds, with its timing and skip-samples side data; the packet is
    /// unreferenced.
    init(taking packet: UnsafeMutablePointer<AVPacket>) throws {
        defer { av_packet_unref(packet) }
        let bytes = Array(UnsafeBufferPointer(start: packet.pointee.data, count: Int(packet.pointee.size)))
        var size = 0
        var skip: (start: UInt32, end: UInt32)?
        if let side = av_packet_get_side_data(packet, AV_PKT_DATA_SKIP_SAMPLES, &size), size >= 10 {
            let read = { (at: Int) in (0..<4).reduce(UInt32(0)) { $0 | UInt32(side[at + $1]) << (8 * UInt32($1)) } }
            skip = (read(0), read(4))
        }
        guard
            let frame = EncodedFrame(
                bytes: bytes, pts: packet.pointee.pts, duration: packet.pointee.duration, skipSamples: skip)
        else {
            throw TranscodeError(.internalFailure, "libmp3lame gave a packet that is not one Layer III frame")
        }
        self = frame
    }

    /// Fills `packet` as the encoder had: data, timing and skip-samples side data.
    func fill(_ packet: UnsafeMutablePointer<AVPacket>) throws {
        try check(av_new_packet(packet, Int32(bytes.count)), "av_new_packet")
        bytes.withUnsafeBytes {
            packet.pointee.data.update(from: $0.bindMemory(to: UInt8.self).baseAddress!, count: bytes.count)
        }
        packet.pointee.pts = pts
        packet.pointee.dts = pts
        packet.pointee.duration = duration
        if let skipSamples {
            guard let side = av_packet_new_side_data(packet, AV_PKT_DATA_SKIP_SAMPLES, 10) else {
                throw FFmpegError(code: s3t_averror_enomem(), operation: "av_packet_new_side_data")
            }
            for (at, value) in [(0, skipSamples.start), (4, skipSamples.end)] {
                for byte in 0..<4 { side[at + byte] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(byte))) }
            }
            side[8] = 0
            side[9] = 0
        }
    }
}
