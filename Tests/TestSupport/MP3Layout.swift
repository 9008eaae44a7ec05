/// A minimal MP3 reader for the tests: skips the ID3v2 tag, walks the frame headers, and reads the
/// Xing/Info frame with its LAME extension, straight from the bytes (not through FFmpeg).
public struct MP3Layout {
    public struct Frame {
        public let offset: Int
        public let length: Int
        public let sampleRate: Int
        public let channels: Int
        /// Samples per channel: 1152 for MPEG-1, 576 for MPEG-2 and 2.5.
        public let samples: Int
        /// Where a Xing/Info tag would start (after the side information).
        public let xingOffset: Int
        public let bitrate: Int
    }

    public struct XingFrame {
        /// "Xing" (VBR) or "Info" (CBR).
        public let tag: String
        public let frames: Int?
        public let bytes: Int?
        public let hasTOC: Bool
        /// The LAME extension, when present.
        public let encoder: String?
        public let delay: Int?
        public let padding: Int?
        public let musicLength: Int?
    }

    public let id3Size: Int
    /// Every frame, the Xing/Info frame (if any) first.
    public let frames: [Frame]
    public let xing: XingFrame?

    /// The audio frames (after the Xing/Info frame).
    public var audioFrames: ArraySlice<Frame> { xing == nil ? frames[...] : frames.dropFirst() }

    public init(_ bytes: [UInt8]) {
        var offset = 0
        if bytes.count >= 10, bytes[0] == 0x49, bytes[1] == 0x44, bytes[2] == 0x33 {
            let size = (Int(bytes[6]) << 21) | (Int(bytes[7]) << 14) | (Int(bytes[8]) << 7) | Int(bytes[9])
            offset = 10 + size + (bytes[5] & 0x10 != 0 ? 10 : 0)
        }
        id3Size = offset
        var frames: [Frame] = []
        while offset + 4 <= bytes.count, let frame = MP3Layout.header(bytes, at: offset) {
            frames.append(frame)
            offset += frame.length
        }
        self.frames = frames
        if let first = frames.first {
            xing = MP3Layout.xing(bytes, first)
        } else {
            xing = nil
        }
    }

    static let mpeg1Bitrates = [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320]
    static let mpeg2Bitrates = [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160]

    public static func header(_ b: [UInt8], at o: Int) -> Frame? {
        guard b[o] == 0xFF, b[o + 1] & 0xE0 == 0xE0 else { return nil }
        let version = Int(b[o + 1] >> 3) & 3  // 3: MPEG-1, 2: MPEG-2, 0: MPEG-2.5
        let layer = Int(b[o + 1] >> 1) & 3  // 1: layer III
        guard version != 1, layer == 1 else { return nil }
        let bitrateIndex = Int(b[o + 2] >> 4)
        let rateIndex = Int(b[o + 2] >> 2) & 3
        guard bitrateIndex > 0, bitrateIndex < 15, rateIndex < 3 else { return nil }
        let padding = Int(b[o + 2] >> 1) & 1
        let mono = (b[o + 3] >> 6) & 3 == 3
        let rates =
            version == 3 ? [44100, 48000, 32000] : version == 2 ? [22050, 24000, 16000] : [11025, 12000, 8000]
        let rate = rates[rateIndex]
        let bitrate = (version == 3 ? mpeg1Bitrates : mpeg2Bitrates)[bitrateIndex] * 1000
        let samples = version == 3 ? 1152 : 576
        let length = samples / 8 * bitrate / rate + padding
        let sideInfo = version == 3 ? (mono ? 17 : 32) : (mono ? 9 : 17)
        return Frame(
            offset: o, length: length, sampleRate: rate, channels: mono ? 1 : 2, samples: samples,
            xingOffset: o + 4 + sideInfo, bitrate: bitrate)
    }

    public static func xing(_ b: [UInt8], _ frame: Frame) -> XingFrame? {
        var p = frame.xingOffset
        guard p + 8 <= b.count else { return nil }
        let tag = String(decoding: b[p..<p + 4], as: UTF8.self)
        guard tag == "Xing" || tag == "Info" else { return nil }
        func u32(_ at: Int) -> Int { Int(b[at]) << 24 | Int(b[at + 1]) << 16 | Int(b[at + 2]) << 8 | Int(b[at + 3]) }
        let flags = u32(p + 4)
        p += 8
        var frames: Int?
        var bytes: Int?
        if flags & 1 != 0 {
            frames = u32(p)
            p += 4
        }
        if flags & 2 != 0 {
            bytes = u32(p)
            p += 4
        }
        if flags & 4 != 0 { p += 100 }
        if flags & 8 != 0 { p += 4 }
        // LAME extension: 9-byte encoder string, then delay and padding (12 bits each) at +21,
        // music length at +28.
        var encoder: String?
        var delay: Int?
        var padding: Int?
        var musicLength: Int?
        if p + 36 <= frame.offset + frame.length {
            encoder = String(decoding: b[p..<p + 9].filter { $0 != 0 }, as: UTF8.self)
            let d = p + 21
            delay = Int(b[d]) << 4 | Int(b[d + 1]) >> 4
            padding = (Int(b[d + 1]) & 0x0F) << 8 | Int(b[d + 2])
            musicLength = u32(p + 28)
        }
        return XingFrame(
            tag: tag, frames: frames, bytes: bytes, hasTOC: flags & 4 != 0,
            encoder: encoder, delay: delay, padding: padding, musicLength: musicLength)
    }
}
