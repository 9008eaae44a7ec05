/// Joins the frames of two separately encoded segments into one valid Layer III stream: the bit
/// reservoir at the join (docs/ARCHITECTURE.md, "Segment-parallel encoding").
///
/// The left segment's encoder went on past the join and filled the end of its last kept frames'
/// main data areas with main data of frames that are now dropped; the right segment's first kept
/// frame points back (`main_data_begin`) into the main data of its own dropped warm-up frames. The
/// join moves the right frames' main data into the left segment's free bytes: where it fits,
/// byte for byte where the right encoder had it; where it does not, each right frame's main data
/// starts later (a smaller `main_data_begin`) until the shift is absorbed by the reservoir's
/// stuffing; a frame whose data then overruns its area gets a higher bitrate index when
/// `mayEnlarge` (VBR, ABR). Among the candidate join frames the first whose frames sound the same
/// on both sides and needs no change of bitrate is taken.
enum FrameJoin {
    /// One way to join at `frame`: the left frames `[frame - leftTail.count, frame)` and the right
    /// frames `[frame, frame + rightHead.count)` replaced by these.
    struct Splice {
        var frame: Int
        var leftTail: [EncodedFrame]
        var rightHead: [EncodedFrame]
        /// Bytes by which the right frames' main data had to move later (0: it fitted).
        var shift: Int
        /// Frames given a higher bitrate index.
        var enlarged: Int
        /// The left encoder's frame at `frame` (dropped) sounds as the right one's (kept): the
        /// joined stream decodes there exactly as the left encode would.
        var contentMatches: Bool
    }

    /// The best splice of `left` (frames from global index `leftFirst`) and `right` (from
    /// `rightFirst`) at a frame in `candidates`; nil when none is possible. Right frames from
    /// `needed` on are not kept (the next join is before them): they may be left invalid.
    static func splice(
        left: ArraySlice<EncodedFrame>, leftFirst: Int, right: ArraySlice<EncodedFrame>, rightFirst: Int,
        candidates: Range<Int>, needed: Int, mayEnlarge: Bool
    ) -> Splice? {
        var best: Splice?
        for frame in candidates {
            guard
                let splice = trial(
                    left: left, leftFirst: leftFirst, right: right, rightFirst: rightFirst, at: frame,
                    needed: needed, mayEnlarge: mayEnlarge)
            else { continue }
            if splice.contentMatches && splice.enlarged == 0 { return splice }
            if best == nil || rank(splice) < rank(best!) { best = splice }
        }
        return best
    }

    private static func rank(_ splice: Splice) -> (Int, Int, Int) {
        (splice.enlarged, splice.contentMatches ? 0 : 1, splice.shift)
    }

    /// The frames of a slice as one main data stream (the bit reservoir as a decoder sees it).
    struct Reservoir {
        var bytes: [UInt8] = []
        /// Where each frame's main data area starts in `bytes`.
        var areaStarts: [Int] = []

        init(_ frames: some Collection<EncodedFrame>) {
            for frame in frames {
                areaStarts.append(bytes.count)
                bytes += frame.area
            }
        }

        /// The range of frame `index`'s own main data, nil when it starts before the first frame.
        func mainData(of index: Int, in frames: some RandomAccessCollection<EncodedFrame>) -> Range<Int>? {
            let layout = frames[frames.index(frames.startIndex, offsetBy: index)].layout
            let start = areaStarts[index] - layout.mainDataBegin
            guard start >= 0, start + layout.mainDataBytes <= bytes.count else { return nil }
            return start..<(start + layout.mainDataBytes)
        }
    }

    /// The splice at `frame`, or nil when it cannot be done there.
    static func trial(
        left: ArraySlice<EncodedFrame>, leftFirst: Int, right: ArraySlice<EncodedFrame>, rightFirst: Int,
        at frame: Int, needed: Int, mayEnlarge: Bool
    ) -> Splice? {
        let lastLeft = frame - 1 - leftFirst + left.startIndex
        let firstRight = frame - rightFirst + right.startIndex
        guard lastLeft >= left.startIndex, lastLeft < left.endIndex, firstRight > right.startIndex,
            firstRight < right.endIndex
        else { return nil }

        // Left frames back to the one whose area holds the start of the last kept frame's main data.
        var leftStart = lastLeft
        var reach = 0
        while reach < left[lastLeft].layout.mainDataBegin {
            guard leftStart > left.startIndex else { return nil }
            leftStart -= 1
            reach += left[leftStart].layout.areaLength
        }
        let tail = left[leftStart...lastLeft]
        let tailReservoir = Reservoir(tail)
        guard let lastData = tailReservoir.mainData(of: tail.count - 1, in: tail) else { return nil }
        let joinPoint = tailReservoir.bytes.count  // the join frame's header, in the main data stream

        // Right frames from the join on, with those before it that hold the first one's early data.
        var rightStart = firstRight
        reach = 0
        while reach < right[firstRight].layout.mainDataBegin {
            guard rightStart > right.startIndex else { return nil }
            rightStart -= 1
            reach += right[rightStart].layout.areaLength
        }
        let rightFrames = right[rightStart...]
        let rightReservoir = Reservoir(
            rightFrames.prefix(upTo: min(right.endIndex, needed - rightFirst + right.startIndex)))
        let skipped = firstRight - rightStart
        let rightJoinPoint = rightReservoir.areaStarts[skipped]

        // Does the left encoder's own frame at the join sound the same as the right one's?
        var contentMatches = false
        if lastLeft + 1 < left.endIndex {
            let withJoin = left[leftStart...(lastLeft + 1)]
            let reservoir = Reservoir(withJoin)
            if let leftData = reservoir.mainData(of: withJoin.count - 1, in: withJoin),
                let rightData = rightReservoir.mainData(of: skipped, in: rightFrames)
            {
                contentMatches =
                    left[lastLeft + 1].content(mainData: reservoir.bytes[leftData])
                    == right[firstRight].content(mainData: rightReservoir.bytes[rightData])
            }
        }

        // The joined main data stream: the left tail's areas, then the right frames' areas, each
        // frame's main data placed where the right encoder had it or, when that is taken, as soon
        // after as the left tail's data allows.
        var stream = tailReservoir.bytes
        var position = lastData.upperBound  // the first byte not taken by kept data
        // The left tail's free bytes take what the right encoder had before the join (zeros where
        // it had nothing): its first frames' early main data, and its ancillary bytes, so that
        // where both encoders agree the joined bytes are the serial encode's.
        for index in position..<joinPoint {
            let rightIndex = index - joinPoint + rightJoinPoint
            stream[index] = rightIndex >= 0 ? rightReservoir.bytes[rightIndex] : 0
        }
        var head: [EncodedFrame] = []
        var shift = 0
        var enlarged = 0
        // Zeros added at the end of enlarged areas: (right stream position, count).
        var insertions: [(at: Int, count: Int)] = []
        func joined(_ rightPosition: Int) -> Int {
            rightPosition + joinPoint - rightJoinPoint
                + insertions.reduce(0) { $0 + ($1.at <= rightPosition ? $1.count : 0) }
        }
        for index in skipped..<rightReservoir.areaStarts.count {
            guard let data = rightReservoir.mainData(of: index, in: rightFrames) else { return nil }
            let original = joined(data.lowerBound)
            if position <= original && original >= joinPoint && data.lowerBound >= (insertions.last?.at ?? 0) {
                // From here on the right encoder's layout stands as it is. (Bytes between moved data
                // are what the right encoder had there: ancillary bits to a decoder.)
                return cut(
                    stream: stream, tail: tail, head: head, frame: frame, shift: shift, enlarged: enlarged,
                    contentMatches: contentMatches)
            }
            var next = rightFrames[rightFrames.startIndex + index]
            let start = max(position, original)
            shift = max(shift, start - original)
            let areaStart = stream.count
            stream += next.area
            let end = start + data.count
            if end > stream.count {
                let size = next.layout.size
                guard mayEnlarge, next.enlargeArea(by: end - stream.count, sampleRate: next.sampleRate) else {
                    return nil
                }
                stream += repeatElement(0, count: next.layout.size - size)
                insertions.append(
                    (rightReservoir.areaStarts[index] + size - next.layout.areaOffset, next.layout.size - size))
                enlarged += 1
            }
            guard areaStart - start <= next.layout.maximumMainDataBegin else { return nil }
            stream.replaceSubrange(start..<end, with: rightReservoir.bytes[data])
            next.setMainDataBegin(areaStart - start)
            head.append(next)
            position = end
        }
        // The shift lasted to the last frame needed: the frames after it are not kept.
        return cut(
            stream: stream, tail: tail, head: head, frame: frame, shift: shift, enlarged: enlarged,
            contentMatches: contentMatches)
    }

    /// Cuts the joined main data stream back into frames.
    private static func cut(
        stream: [UInt8], tail: ArraySlice<EncodedFrame>, head: [EncodedFrame], frame: Int, shift: Int,
        enlarged: Int, contentMatches: Bool
    ) -> Splice {
        var offset = 0
        func refilled(_ frames: some Sequence<EncodedFrame>) -> [EncodedFrame] {
            frames.map { frame in
                var frame = frame
                let length = frame.layout.areaLength
                frame.bytes.replaceSubrange(frame.layout.areaOffset..., with: stream[offset..<(offset + length)])
                offset += length
                return frame
            }
        }
        let leftTail = refilled(tail)
        let rightHead = refilled(head)
        return Splice(
            frame: frame, leftTail: leftTail, rightHead: rightHead, shift: shift, enlarged: enlarged,
            contentMatches: contentMatches)
    }
}
