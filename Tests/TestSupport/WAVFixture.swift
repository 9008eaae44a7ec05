// WAV test fixtures written in code: every flavour FFmpeg decodes, and the ways real files lie.

/// A WAV (or RF64/BW64) file described field by field, with a known signal in it.
///
/// ```swift
/// let bytes = WAVFixture(encoding: .s24, container: .extensible, sampleRate: 96_000, channels: 6).bytes()
/// ```
/// The signal is a sine of `frequency` Hz at `amplitude` (full scale 1.0) on every channel, so a
/// decoder's output can be checked for its frequency and its signal-to-noise ratio.
public struct WAVFixture: Sendable {
    /// The sample encoding: the fmt chunk's format tag and bit depth.
    public enum Encoding: String, Sendable, CaseIterable {
        case u8, s16, s24, s32, f32, f64, mulaw, alaw

        public var bitsPerSample: Int {
            switch self {
            case .u8, .mulaw, .alaw: 8
            case .s16: 16
            case .s24: 24
            case .s32, .f32: 32
            case .f64: 64
            }
        }

        /// WAVE_FORMAT_PCM 1, IEEE_FLOAT 3, ALAW 6, MULAW 7.
        public var formatTag: UInt16 {
            switch self {
            case .u8, .s16, .s24, .s32: 1
            case .f32, .f64: 3
            case .alaw: 6
            case .mulaw: 7
            }
        }
    }

    /// The file's outer structure.
    public enum Container: String, Sendable, CaseIterable {
        /// RIFF/WAVE with a plain fmt chunk (16 bytes for PCM, 18 for the others).
        case riff
        /// RIFF/WAVE with WAVE_FORMAT_EXTENSIBLE (0xFFFE): valid bits, channel mask, sub-format GUID.
        case extensible
        /// RF64 with a ds64 chunk holding the 64-bit sizes; 32-bit size fields 0xFFFFFFFF.
        case rf64
        /// BW64 (ITU-R BS.2088), laid out as RF64.
        case bw64
    }

    /// What the RIFF and data chunk size fields say.
    public enum SizeFields: Sendable, Equatable {
        /// The true sizes.
        case exact
        /// 0, as a streaming writer leaves them.
        case zero
        /// 0xFFFFFFFF, as a streaming writer leaves them.
        case maximum
        /// The data size claims this many bytes more than there are (a header that lies).
        case overstated(by: Int)
    }

    public var encoding: Encoding
    public var container: Container
    public var sampleRate: Int
    public var channels: Int
    /// Samples per channel.
    public var frames: Int
    public var frequency: Double
    public var amplitude: Double
    /// LIST/INFO entries by four-character id: INAM title, IART artist, IPRD album, ICRD date,
    /// IGNR genre, ICMT comment, ITRK track. Written before the data chunk, UTF-8.
    public var info: [(id: String, value: String)]
    public var sizeFields: SizeFields
    /// Bytes cut off the end of the file (a truncated last sample when not a multiple of the block).
    public var truncatedBytes: Int
    /// The channel count the header claims, when it should differ from `channels` (0: broken).
    public var headerChannels: Int?
    /// Leave out the data chunk altogether (a broken file).
    public var omitsDataChunk: Bool
    /// The channel mask for `.extensible`; nil: the default mask for the channel count.
    public var channelMask: UInt32?
    /// Per-channel gains applied to the sine (nil: 1 on every channel), e.g. a tone on the
    /// centre channel only.
    public var channelGains: [Double]?
    /// Put the LIST/INFO chunk after the data chunk (FFmpeg then seeks to find it).
    public var infoAfterData: Bool = false

    public init(
        encoding: Encoding = .s16, container: Container = .riff, sampleRate: Int = 44_100, channels: Int = 2,
        frames: Int? = nil, frequency: Double = 1000, amplitude: Double = 0.5,
        info: [(id: String, value: String)] = [], sizeFields: SizeFields = .exact, truncatedBytes: Int = 0,
        headerChannels: Int? = nil, omitsDataChunk: Bool = false, channelMask: UInt32? = nil
    ) {
        self.encoding = encoding
        self.container = container
        self.sampleRate = sampleRate
        self.channels = channels
        self.frames = frames ?? sampleRate
        self.frequency = frequency
        self.amplitude = amplitude
        self.info = info
        self.sizeFields = sizeFields
        self.truncatedBytes = truncatedBytes
        self.headerChannels = headerChannels
        self.omitsDataChunk = omitsDataChunk
        self.channelMask = channelMask
    }

    public var bytesPerSample: Int { encoding.bitsPerSample / 8 }
    public var blockAlign: Int { bytesPerSample * channels }

    /// The sample value (-1...1) of `frame` on every channel.
    public func sample(_ frame: Int) -> Double {
        amplitude * sin(2 * Double.pi * frequency * Double(frame) / Double(sampleRate))
    }

    /// The WAVE_FORMAT_EXTENSIBLE default masks (FL FR FC LFE BL BR SL SR order).
    public static func defaultMask(channels: Int) -> UInt32 {
        switch channels {
        case 1: 0x4
        case 2: 0x3
        case 3: 0x7
        case 4: 0x33
        case 5: 0x37
        case 6: 0x3F
        case 7: 0x13F
        case 8: 0x63F
        default: 0
        }
    }

    /// The whole file.
    public func bytes() -> [UInt8] {
        let data = sampleData()
        var fmt = ByteWriter()
        let declaredChannels = headerChannels ?? channels
        let extensible = container == .extensible
        fmt.u16(extensible ? 0xFFFE : encoding.formatTag)
        fmt.u16(declaredChannels)
        fmt.u32(sampleRate)
        fmt.u32(sampleRate * bytesPerSample * declaredChannels)
        fmt.u16(bytesPerSample * declaredChannels)
        fmt.u16(encoding.bitsPerSample)
        if extensible {
            fmt.u16(22)
            fmt.u16(encoding.bitsPerSample)
            fmt.u32(Int(channelMask ?? WAVFixture.defaultMask(channels: declaredChannels)))
            fmt.u16(encoding.formatTag)
            fmt.bytes([0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71])
        } else if encoding.formatTag != 1 {
            fmt.u16(0)
        }

        var list = ByteWriter()
        if !info.isEmpty {
            list.ascii("INFO")
            for (id, value) in info {
                let text = Array(value.utf8) + [0]
                list.ascii(id)
                list.u32(text.count)
                list.bytes(text)
                if text.count % 2 == 1 { list.bytes([0]) }
            }
        }

        let isRF64 = container == .rf64 || container == .bw64
        let realDataSize = data.count
        var declaredData: UInt32
        switch sizeFields {
        case .exact: declaredData = UInt32(truncatingIfNeeded: realDataSize)
        case .zero: declaredData = 0
        case .maximum: declaredData = 0xFFFF_FFFF
        case .overstated(let extra): declaredData = UInt32(truncatingIfNeeded: realDataSize + extra)
        }
        var body = ByteWriter()
        body.ascii("WAVE")
        if isRF64 {
            body.ascii("ds64")
            body.u32(28)
            let riffSize =
                4 + 36 + 8 + fmt.data.count + (list.data.isEmpty ? 0 : 8 + list.data.count) + 8 + realDataSize
            body.u64(riffSize)
            let ds64Data: Int
            if case .overstated(let extra) = sizeFields {
                ds64Data = realDataSize + extra
            } else {
                ds64Data = realDataSize
            }
            body.u64(ds64Data)
            body.u64(frames)
            body.u32(0)
            declaredData = 0xFFFF_FFFF
        }
        body.ascii("fmt ")
        body.u32(fmt.data.count)
        body.bytes(fmt.data)
        if !list.data.isEmpty && !infoAfterData {
            body.ascii("LIST")
            body.u32(list.data.count)
            body.bytes(list.data)
        }
        if !omitsDataChunk {
            body.ascii("data")
            body.u32(Int(declaredData))
            body.bytes(data)
            if data.count % 2 == 1 && sizeFields == .exact { body.bytes([0]) }
        }
        if !list.data.isEmpty && infoAfterData {
            body.ascii("LIST")
            body.u32(list.data.count)
            body.bytes(list.data)
        }

        var file = ByteWriter()
        file.ascii(isRF64 ? (container == .bw64 ? "BW64" : "RF64") : "RIFF")
        switch (isRF64, sizeFields) {
        case (true, _): file.u32(Int(UInt32.max))
        case (false, .zero): file.u32(0)
        case (false, .maximum): file.u32(Int(UInt32.max))
        case (false, .overstated(let extra)): file.u32(body.data.count + extra)
        case (false, .exact): file.u32(body.data.count)
        }
        file.bytes(body.data)
        return Array(file.data.dropLast(truncatedBytes))
    }

    /// Writes the file to `path` (created or truncated).
    public func write(to path: String) throws {
        let bytes = self.bytes()
        guard let file = fopen(path, "wb") else { throw FixtureWriteError(path: path, code: errno) }
        defer { fclose(file) }
        guard fwrite(bytes, 1, bytes.count, file) == bytes.count else {
            throw FixtureWriteError(path: path, code: errno)
        }
    }

    /// Only the interleaved samples.
    public func sampleData() -> [UInt8] {
        var out = ByteWriter()
        out.data.reserveCapacity(frames * blockAlign)
        for frame in 0..<frames {
            let value = sample(frame)
            for channel in 0..<channels { out.sample(value * (channelGains?[channel] ?? 1), encoding) }
        }
        return out.data
    }
}

/// Writing a fixture file failed.
public struct FixtureWriteError: Error, CustomStringConvertible {
    public let path: String
    public let code: Int32
    public var description: String { "cannot write fixture \(path): \(String(cString: strerror(code)))" }
}

/// Little-endian field writer.
struct ByteWriter {
    var data: [UInt8] = []

    mutating func bytes(_ more: [UInt8]) { data += more }
    mutating func ascii(_ text: String) { data += Array(text.utf8) }
    mutating func u16(_ value: Int) { u16(UInt16(truncatingIfNeeded: value)) }
    mutating func u16(_ value: UInt16) { data += [UInt8(value & 0xFF), UInt8(value >> 8)] }
    mutating func u32(_ value: Int) {
        let v = UInt32(truncatingIfNeeded: value)
        data += [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF), UInt8((v >> 16) & 0xFF), UInt8(v >> 24)]
    }
    mutating func u64(_ value: Int) { u64(UInt64(value)) }
    mutating func u64(_ v: UInt64) {
        for shift in stride(from: 0, to: 64, by: 8) { data.append(UInt8((v >> UInt64(shift)) & 0xFF)) }
    }

    mutating func sample(_ value: Double, _ encoding: WAVFixture.Encoding) {
        let clamped = max(-1, min(1, value))
        switch encoding {
        case .u8: data.append(UInt8(max(0, min(255, (clamped * 127).rounded() + 128))))
        case .s16: u16(Int(Int16((clamped * 32767).rounded())))
        case .s24:
            let v = Int32((clamped * 8_388_607).rounded())
            data += [
                UInt8(truncatingIfNeeded: v), UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v >> 16),
            ]
        case .s32: u32(Int(Int32((clamped * 2_147_483_647).rounded())))
        case .f32: u32(Int(Float(clamped).bitPattern))
        case .f64: u64(clamped.bitPattern)
        case .mulaw: data.append(G711.muLaw(Int16((clamped * 32767).rounded())))
        case .alaw: data.append(G711.aLaw(Int16((clamped * 32767).rounded())))
        }
    }
}

/// ITU-T G.711 encoders (the reference algorithms).
enum G711 {
    static func muLaw(_ sample: Int16) -> UInt8 {
        let bias = 0x84
        let clip = 32635
        var value = Int(sample)
        let sign = value < 0 ? 0x80 : 0
        if value < 0 { value = -value }
        value = min(value, clip) + bias
        var exponent = 7
        var mask = 0x4000
        while exponent > 0 && value & mask == 0 {
            exponent -= 1
            mask >>= 1
        }
        let mantissa = (value >> (exponent + 3)) & 0x0F
        return ~UInt8(sign | (exponent << 4) | mantissa)
    }

    static func aLaw(_ sample: Int16) -> UInt8 {
        var value = Int(sample)
        let sign = value >= 0 ? 0x80 : 0
        if value < 0 { value = -value - 1 }
        value = min(value, 32767)
        let result: Int
        if value < 256 {
            result = value >> 4
        } else {
            var exponent = 7
            var mask = 0x4000
            while exponent > 1 && value & mask == 0 {
                exponent -= 1
                mask >>= 1
            }
            result = (exponent << 4) | ((value >> (exponent + 3)) & 0x0F)
        }
        return UInt8((sign | result) ^ 0x55)
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
