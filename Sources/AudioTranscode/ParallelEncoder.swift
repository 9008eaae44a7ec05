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
/// into segments, a dedicated OS thread per segment encodes it with its own libmp3lame encoder, and
/// the calling thread joins the segments' frames in order (`FrameJoin`) and hands them to the one
/// muxer. At most `threads` segments are encoded at once; the calling thread waits (and joins what
/// is ready) when that many are.
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

    private let state = SharedState()
    private var open: [SegmentAudio] = []
    private var nextSegment = 0
    private var frameIndex = 0
    private var lastSegment = Int.max
    private var joiner: Joiner

    /// One per segment after the first.
    var joins: [SegmentJoin] { joiner.joins }
    var segments: Int { nextSegment }
    private(set) var framesWritten: Int64 = 0

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
        state.waitForIdle()
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
            open.append(
                SegmentAudio(
                    index: nextSegment, firstFrame: frameIndex, format: AVSampleFormat(frame.pointee.format),
                    channels: Int(frame.pointee.ch_layout.nb_channels),
                    capacity: (plan.inputEnd(nextSegment) - frameIndex) * Int(frameSize)))
            nextSegment += 1
        }
        for segment in open { segment.append(frame) }
        frameIndex += 1
        if let oldest = open.first, frameIndex == plan.inputEnd(oldest.index) {
            open.removeFirst()
            try submit(oldest)
        }
        try joinReady()
    }

    /// Encodes the rest, joins everything and writes it.
    func finish() throws {
        // The oldest open segment could not be closed: it takes the input to its end and is flushed
        // as the serial encode is. A younger one (only warm-up or a few frames so far) is dropped.
        if let last = open.first {
            nextSegment = last.index + 1
            lastSegment = last.index
            open = []
            try submit(last)
        }
        while state.isEncoding {
            try joinReady()
            state.waitForResult()
        }
        try joinReady()
        for frame in joiner.finish() { try write(frame) }
    }

    /// Starts a worker for `audio` once fewer than `inFlight` are running.
    private func submit(_ audio: SegmentAudio) throws {
        while state.busy >= inFlight {
            try joinReady()
            state.waitForResult()
        }
        try joinReady()
        let encoder = try makeEncoder()
        let job = SegmentJob(audio: audio, encoder: encoder, frameSize: frameSize, state: state)
        state.started()
        OSThread.detachNewThread { job.run() }
    }

    /// Joins and writes the segments that are done, in order.
    private func joinReady() throws {
        if isCancelled() {
            state.cancel()
            throw TranscodeError(.cancelled, "\(name): transcode cancelled")
        }
        if let error = state.firstError { throw error }
        while let result = state.take(joiner.nextSegment) {
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

/// One channel of a segment's audio in pages of its own (`MappedBuffer`), given back to the system
/// when freed. As Swift arrays (malloc) the planes, megabytes each, allocated on the calling thread
/// and freed on a worker's, stayed resident: glibc raises its mmap threshold to the size of the first
/// mapped block freed, so later ones came from the heap (a 10-minute WAV to a file with 2 threads,
/// portable binary: 43 MiB peak as arrays, 35-37 MiB mapped; the MP3 is the same).
final class MappedPlane: @unchecked Sendable {  // written by the calling thread, then read by one worker
    private var memory: MappedBuffer
    private(set) var count = 0

    init(capacity: Int) { memory = Self.map(capacity) }

    private static func map(_ bytes: Int) -> MappedBuffer {
        guard let memory = MappedBuffer(capacity: max(bytes, 1)) else {
            fatalError("out of memory: \(bytes) bytes for segment audio")
        }
        return memory
    }

    func append(_ bytes: UnsafeRawBufferPointer) {
        if count + bytes.count > memory.capacity {  // not planned for; kept correct all the same
            let larger = Self.map(2 * (count + bytes.count))
            larger.base.copyMemory(from: memory.base, byteCount: count)
            memory = larger
        }
        if let source = bytes.baseAddress { (memory.base + count).copyMemory(from: source, byteCount: bytes.count) }
        count += bytes.count
    }

    func withUnsafeBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try body(UnsafeRawBufferPointer(start: memory.base, count: count))
    }
}

/// One segment's converted audio, planar, as the encoder takes it.
final class SegmentAudio: @unchecked Sendable {  // filled by the calling thread, then read by one worker
    let index: Int
    let firstFrame: Int
    let format: AVSampleFormat
    let channels: Int
    let bytesPerSample: Int
    var planes: [MappedPlane]
    /// Samples of each frame (all full but perhaps the last).
    var frameSamples: [Int32] = []

    /// `capacity`: samples per channel the segment will hold.
    init(index: Int, firstFrame: Int, format: AVSampleFormat, channels: Int, capacity: Int) {
        self.index = index
        self.firstFrame = firstFrame
        self.format = format
        self.channels = channels
        bytesPerSample = Int(av_get_bytes_per_sample(format))
        planes = (0..<channels).map { _ in MappedPlane(capacity: capacity * Int(av_get_bytes_per_sample(format))) }
    }

    func append(_ frame: UnsafeMutablePointer<AVFrame>) {
        let count = Int(frame.pointee.nb_samples)
        for channel in 0..<channels {
            let plane = UnsafePointer<UInt8>(frame.pointee.extended_data[channel]!)
            planes[channel].append(UnsafeRawBufferPointer(start: plane, count: count * bytesPerSample))
        }
        frameSamples.append(Int32(count))
    }
}

/// What the workers and the calling thread share, under one condition variable.
final class SharedState: @unchecked Sendable {  // every property is read and written under `condition`
    private let condition = Condition()
    private var results: [Int: Result<[EncodedFrame], any Error>] = [:]
    private var running = 0
    private var cancelled = false
    private var error: (any Error)?

    var busy: Int { condition.withLock { running } }
    var isCancelled: Bool { condition.withLock { cancelled } }
    var firstError: (any Error)? { condition.withLock { error } }

    func started() { condition.withLock { running += 1 } }

    func finished(_ segment: Int, _ result: Result<[EncodedFrame], any Error>) {
        condition.withLock {
            running -= 1
            if case .failure(let failure) = result, error == nil, !(failure is CancelledSegment) {
                error = failure
                cancelled = true
            }
            results[segment] = result
            condition.broadcast()
        }
    }

    func cancel() { condition.withLock { cancelled = true } }

    func take(_ segment: Int) -> Result<[EncodedFrame], any Error>? {
        condition.withLock { results.removeValue(forKey: segment) }
    }

    /// Whether a segment is still being encoded.
    var isEncoding: Bool { condition.withLock { running > 0 } }

    func waitForResult() {
        condition.withLock {
            let known = results.count
            while running > 0 && results.count == known && error == nil { condition.wait() }
        }
    }

    func waitForIdle() {
        condition.withLock { while running > 0 { condition.wait() } }
    }
}

/// A worker stopped because another failed or the transcode was cancelled.
struct CancelledSegment: Error {}

/// One segment's encode, run on its own thread.
final class SegmentJob: @unchecked Sendable {  // handed whole to one worker thread
    let audio: SegmentAudio
    let encoder: CodecContext
    let frameSize: Int32
    let state: SharedState

    init(audio: SegmentAudio, encoder: CodecContext, frameSize: Int32, state: SharedState) {
        self.audio = audio
        self.encoder = encoder
        self.frameSize = frameSize
        self.state = state
    }

    func run() {
        let result = Result { try encode() }
        audio.planes = []
        state.finished(audio.index, result)
    }

    /// Every frame the encoder gives for this segment's audio, flushed at the end (a segment that is
    /// not the last has look-ahead frames after its candidates, so the flush touches none it keeps).
    private func encode() throws -> [EncodedFrame] {
        let frame = try Frame()
        let packet = try Packet()
        let pointer = frame.pointer
        pointer.pointee.nb_samples = frameSize
        pointer.pointee.format = audio.format.rawValue
        pointer.pointee.sample_rate = encoder.pointer.pointee.sample_rate
        try check(
            av_channel_layout_copy(&pointer.pointee.ch_layout, &encoder.pointer.pointee.ch_layout),
            "av_channel_layout_copy")
        try check(av_frame_get_buffer(pointer, 0), "av_frame_get_buffer")
        var frames: [EncodedFrame] = []
        frames.reserveCapacity(audio.frameSamples.count + 4)
        var offset = 0
        for (index, samples) in audio.frameSamples.enumerated() {
            if index % 32 == 0, state.isCancelled { throw CancelledSegment() }
            try check(av_frame_make_writable(pointer), "av_frame_make_writable")
            let bytes = Int(samples) * audio.bytesPerSample
            for channel in 0..<audio.channels {
                audio.planes[channel].withUnsafeBytes { source in
                    UnsafeMutableRawPointer(pointer.pointee.extended_data[channel]!).copyMemory(
                        from: source.baseAddress! + offset, byteCount: bytes)
                }
            }
            offset += bytes
            pointer.pointee.nb_samples = samples
            pointer.pointee.pts = Int64(audio.firstFrame + index) * Int64(frameSize)
            try encoder.encode(pointer, into: packet.pointer) { frames.append(try EncodedFrame(taking: $0)) }
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
