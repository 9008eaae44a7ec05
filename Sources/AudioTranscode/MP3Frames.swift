/// The layout of one MPEG audio Layer III frame, read from its header and side information
/// (ISO/IEC 11172-3 §2.4.1 for MPEG-1; ISO/IEC 13818-3 for MPEG-2 and 2.5, "LSF"): where its main
/// data area is, where its own main data begins (`main_data_begin` bytes before that area, in the
/// bit reservoir), and how long that main data is (the sum of its `part2_3_length` fields).
struct MP3FrameLayout: Equatable {
    /// MPEG-2 or 2.5: one granule, 8-bit `main_data_begin`, 576 samples per frame.
    var isLSF: Bool
    var bitrateIndex: Int
    var hasCRC: Bool
    var channels: Int
    /// Bytes of the whole frame: header, CRC, side information and main data area.
    var size: Int
    /// Offset of the side information: 4, or 6 after a CRC.
    var sideInfoOffset: Int
    var sideInfoLength: Int
    var mainDataBegin: Int
    /// Bits of this frame's own main data: scale factors and Huffman data of every granule and channel.
    var mainDataBits: Int

    /// Offset of the main data area (after the side information).
    var areaOffset: Int { sideInfoOffset + sideInfoLength }
    var areaLength: Int { size - areaOffset }
    /// Whole bytes of the frame's own main data (the last one may end in ancillary bits).
    var mainDataBytes: Int { (mainDataBits + 7) / 8 }
    /// The largest `main_data_begin` the field can hold.
    var maximumMainDataBegin: Int { isLSF ? 255 : 511 }

    static let bitrates: [[Int]] = [
        [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],  // MPEG-1
        [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],  // MPEG-2 and 2.5
    ]
    static let sampleRates: [Int: [Int]] = [
        3: [44100, 48000, 32000], 2: [22050, 24000, 16000], 0: [11025, 12000, 8000],
    ]

    /// The frame that starts at `bytes[0]`, or nil when it is not a Layer III frame this code can
    /// rewrite (no sync, another layer, free format, reserved values, fewer bytes than it says).
    init?(_ bytes: some RandomAccessCollection<UInt8>) {
        guard bytes.count >= 4 else { return nil }
        let header = bytes.prefix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        let version = Int(header >> 19 & 3)
        guard header >> 21 == 0x7FF, version != 1, header >> 17 & 3 == 1 else { return nil }
        let bitrateIndex = Int(header >> 12 & 15)
        guard bitrateIndex != 0, bitrateIndex != 15, let rates = Self.sampleRates[version],
            header >> 10 & 3 != 3
        else { return nil }
        isLSF = version != 3
        self.bitrateIndex = bitrateIndex
        hasCRC = header >> 16 & 1 == 0
        channels = header >> 6 & 3 == 3 ? 1 : 2
        let rate = rates[Int(header >> 10 & 3)]
        size = Self.frameSize(isLSF: isLSF, bitrateIndex: bitrateIndex, sampleRate: rate, padding: header >> 9 & 1 == 1)
        sideInfoOffset = hasCRC ? 6 : 4
        sideInfoLength = isLSF ? (channels == 1 ? 9 : 17) : (channels == 1 ? 17 : 32)
        guard bytes.count >= size, size > sideInfoOffset + sideInfoLength else { return nil }
        var reader = BitReader(bytes.dropFirst(sideInfoOffset).prefix(sideInfoLength))
        mainDataBegin = reader.read(isLSF ? 8 : 9)
        reader.skip(isLSF ? channels : (channels == 1 ? 5 : 3))  // private bits
        if !isLSF { reader.skip(4 * channels) }  // scfsi
        var bits = 0
        for _ in 0..<(isLSF ? 1 : 2) {
            for _ in 0..<channels {
                bits += reader.read(12)  // part2_3_length
                reader.skip(9 + 8 + (isLSF ? 9 : 4))  // big_values, global_gain, scalefac_compress
                reader.skip(1 + 22)  // window_switching_flag and the 22 bits that follow either way
                reader.skip(isLSF ? 2 : 3)  // (preflag), scalefac_scale, count1table_select
            }
        }
        mainDataBits = bits
    }

    /// Bytes of a frame: 144 (72 for LSF) × bitrate / sample rate, plus the padding byte.
    static func frameSize(isLSF: Bool, bitrateIndex: Int, sampleRate: Int, padding: Bool) -> Int {
        let kbps = bitrates[isLSF ? 1 : 0][bitrateIndex]
        return (isLSF ? 72_000 : 144_000) * kbps / sampleRate + (padding ? 1 : 0)
    }
}

/// Reads big-endian bit fields.
private struct BitReader {
    let bytes: [UInt8]
    var position = 0

    init(_ bytes: some Collection<UInt8>) { self.bytes = Array(bytes) }

    mutating func read(_ count: Int) -> Int {
        var value = 0
        for _ in 0..<count {
            let byte = position / 8 < bytes.count ? bytes[position / 8] : 0
            value = value << 1 | Int(byte >> (7 - UInt8(position % 8)) & 1)
            position += 1
        }
        return value
    }

    mutating func skip(_ count: Int) { position += count }
}

/// One encoded MP3 frame as the encoder's packet gave it, with the packet's timing, so that it can
/// be rewritten at a join and then handed to the muxer as the encoder would have.
struct EncodedFrame: Equatable {
    var bytes: [UInt8]
    var layout: MP3FrameLayout
    /// In the encoder's time base (1 / output rate), as libmp3lame's wrapper set them.
    var pts: Int64
    var duration: Int64
    /// The packet's `AV_PKT_DATA_SKIP_SAMPLES`: samples to skip at the start and at the end.
    var skipSamples: (start: UInt32, end: UInt32)?

    init?(bytes: [UInt8], pts: Int64 = 0, duration: Int64 = 0, skipSamples: (start: UInt32, end: UInt32)? = nil) {
        guard let layout = MP3FrameLayout(bytes), layout.size == bytes.count else { return nil }
        self.bytes = bytes
        self.layout = layout
        self.pts = pts
        self.duration = duration
        self.skipSamples = skipSamples
    }

    static func == (a: EncodedFrame, b: EncodedFrame) -> Bool {
        a.bytes == b.bytes && a.pts == b.pts && a.duration == b.duration
            && a.skipSamples?.start == b.skipSamples?.start && a.skipSamples?.end == b.skipSamples?.end
    }

    var area: ArraySlice<UInt8> { bytes[layout.areaOffset...] }

    /// Sets `main_data_begin` in the side information (and the CRC, when the frame has one).
    mutating func setMainDataBegin(_ value: Int) {
        precondition(value >= 0 && value <= layout.maximumMainDataBegin)
        let offset = layout.sideInfoOffset
        if layout.isLSF {
            bytes[offset] = UInt8(value)
        } else {
            bytes[offset] = UInt8(value >> 1)
            bytes[offset + 1] = bytes[offset + 1] & 0x7F | UInt8(value & 1) << 7
        }
        layout.mainDataBegin = value
        updateCRC()
    }

    /// Moves the frame to a higher bitrate index: the same side information and main data, a larger
    /// main data area (zeros at its end). False when no index up to 14 gives `extra` more bytes.
    mutating func enlargeArea(by extra: Int, sampleRate: Int) -> Bool {
        let padding = bytes[2] >> 1 & 1 == 1
        for index in (layout.bitrateIndex + 1)...14 {
            let size = MP3FrameLayout.frameSize(
                isLSF: layout.isLSF, bitrateIndex: index, sampleRate: sampleRate, padding: padding)
            guard size - layout.size >= extra else { continue }
            bytes[2] = bytes[2] & 0x0F | UInt8(index) << 4
            bytes += [UInt8](repeating: 0, count: size - layout.size)
            layout.bitrateIndex = index
            layout.size = size
            updateCRC()
            return true
        }
        return false
    }

    /// The frame's sample rate, from its header.
    var sampleRate: Int {
        let version = Int(bytes[1] >> 3 & 3)
        return MP3FrameLayout.sampleRates[version]![Int(bytes[2] >> 2 & 3)]
    }

    /// CRC-16 (polynomial 0x8005, initial 0xFFFF) over the header's last two bytes and the side
    /// information, stored after the header (ISO/IEC 11172-3 §2.4.3.1).
    private mutating func updateCRC() {
        guard layout.hasCRC else { return }
        var crc: UInt16 = 0xFFFF
        for byte in bytes[2..<4] + bytes[6..<(6 + layout.sideInfoLength)] {
            for bit in (0..<8).reversed() {
                let incoming = UInt16(byte >> UInt8(bit) & 1)
                let top = crc >> 15 & 1
                crc <<= 1
                if top ^ incoming == 1 { crc ^= 0x8005 }
            }
        }
        bytes[4] = UInt8(crc >> 8)
        bytes[5] = UInt8(crc & 0xFF)
    }

    /// What the frame sounds like: its header without bitrate and padding, its side information
    /// without `main_data_begin`, and its own main data bits. Two frames with equal content decode
    /// to the same samples, wherever their main data sits in the reservoir.
    func content(mainData: ArraySlice<UInt8>) -> [UInt8] {
        var result = [bytes[1], bytes[2] & 0x0C, bytes[3]]
        var side = Array(bytes[layout.sideInfoOffset..<layout.areaOffset])
        side[0] = 0
        if !layout.isLSF { side[1] &= 0x7F }
        result += side
        result += mainData
        if layout.mainDataBits % 8 != 0, !mainData.isEmpty {
            result[result.count - 1] &= UInt8(truncatingIfNeeded: 0xFF << (8 - layout.mainDataBits % 8))
        }
        return result
    }
}
