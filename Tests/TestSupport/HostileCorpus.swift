// Hostile inputs, generated: WAVs whose headers lie in every way a broken or malicious file can,
// and files that are not audio at all but are named .wav. Each case says what must happen to it.

/// One generated input and the outcome it must have.
public struct HostileInput: Sendable, CustomStringConvertible {
    /// What must happen: rejected as not audio (exit 65), or transcoded to a valid MP3 because
    /// FFmpeg can legitimately decode something from it.
    public enum Expected: Sendable, Equatable {
        case notAudio
        case mp3
    }

    public let name: String
    public let bytes: [UInt8]
    public let expected: Expected
    public var description: String { name }

    public init(_ name: String, _ bytes: [UInt8], _ expected: Expected) {
        self.name = name
        self.bytes = bytes
        self.expected = expected
    }
}

/// A RIFF/WAVE file put together chunk by chunk, with every field settable to a lie.
public struct RawWAV: Sendable {
    public var formatTag = 1
    public var channels = 2
    public var sampleRate = 8000
    public var byteRate: Int? = nil
    public var blockAlign: Int? = nil
    public var bitsPerSample = 16
    /// The fmt chunk's size field (nil: the true 16).
    public var fmtSize: Int? = nil
    /// Chunks between fmt and data: id and body; `size` overrides the size field.
    public var chunks: [(id: String, size: Int?, body: [UInt8])] = []
    /// The data chunk's size field (nil: the true size).
    public var dataSize: Int? = nil
    /// The RIFF size field (nil: the true size).
    public var riffSize: Int? = nil
    public var frames = 800

    public init() {}

    public var data: [UInt8] {
        let bytesPerSample = max(1, bitsPerSample / 8)
        let count = frames * max(1, channels) * bytesPerSample
        // A 500 Hz square-ish wave, so that a decodable input is not silence.
        return (0..<count).map { index in ((index / (bytesPerSample * max(1, channels))) / 8) % 2 == 0 ? 0x20 : 0xE0 }
    }

    public func bytes() -> [UInt8] {
        let align = blockAlign ?? max(1, channels) * max(1, bitsPerSample / 8)
        var fmt: [UInt8] = []
        fmt += le16(formatTag) + le16(channels) + le32(sampleRate) + le32(byteRate ?? sampleRate * align)
        fmt += le16(align) + le16(bitsPerSample)
        var body: [UInt8] = Array("WAVE".utf8) + Array("fmt ".utf8) + le32(fmtSize ?? fmt.count) + fmt
        for chunk in chunks {
            body += Array(chunk.id.utf8) + le32(chunk.size ?? chunk.body.count) + chunk.body
            if chunk.body.count % 2 == 1 { body.append(0) }
        }
        let samples = data
        body += Array("data".utf8) + le32(dataSize ?? samples.count) + samples
        return Array("RIFF".utf8) + le32(riffSize ?? body.count) + body
    }

    /// The offset of the first sample.
    public var dataOffset: Int { bytes().count - data.count }
}

func le16(_ value: Int) -> [UInt8] { [UInt8(truncatingIfNeeded: value), UInt8(truncatingIfNeeded: value >> 8)] }
func le32(_ value: Int) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }

public enum HostileCorpus {
    /// Every case, in a fixed order (the generator is seeded: the same corpus on every run).
    public static func all() -> [HostileInput] {
        truncations() + chunkSizes() + formatFields() + selfReferences() + notAudio()
    }

    static func with(_ change: (inout RawWAV) -> Void) -> [UInt8] {
        var wav = RawWAV()
        change(&wav)
        return wav.bytes()
    }

    /// A WAV with a LIST chunk before the data, cut at every offset of its header and at the first
    /// samples. Up to the first whole sample frame nothing can be decoded; from there on, what is
    /// there is decoded.
    public static func truncations() -> [HostileInput] {
        var wav = RawWAV()
        wav.chunks = [("LIST", nil, Array("INFOINAM".utf8) + le32(6) + Array("hello\0".utf8))]
        let whole = wav.bytes()
        let firstFrameEnd = wav.dataOffset + wav.channels * 2
        return (0..<(firstFrameEnd + 8)).map { length in
            HostileInput(
                "truncated at \(length) of \(whole.count)", Array(whole.prefix(length)),
                length < firstFrameEnd ? .notAudio : .mp3)
        }
    }

    /// Size fields that lie: random ones (seeded), zero, the maximum, past the end.
    public static func chunkSizes() -> [HostileInput] {
        var cases: [HostileInput] = [
            // A streaming writer's sizes: 0 or 0xFFFFFFFF. FFmpeg reads to the end of the file.
            HostileInput("data size 0xFFFFFFFF", with { $0.dataSize = 0xFFFF_FFFF }, .mp3),
            HostileInput("RIFF size 0", with { $0.riffSize = 0 }, .mp3),
            HostileInput("RIFF size 0xFFFFFFFF", with { $0.riffSize = 0xFFFF_FFFF }, .mp3),
            // The data chunk claims more than the file holds: decoded up to the end (with a warning).
            HostileInput("data size past the end", with { $0.dataSize = 10_000_000 }, .mp3),
            // fmt claims to be larger than the whole file: no data chunk can be found.
            HostileInput("fmt size past the end", with { $0.fmtSize = 0x7FFF_0000 }, .notAudio),
            HostileInput("fmt size 0xFFFFFFFF", with { $0.fmtSize = 0xFFFF_FFFF }, .notAudio),
            // fmt too small to hold a format.
            HostileInput("fmt size 0", with { $0.fmtSize = 0 }, .notAudio),
            HostileInput("fmt size 2", with { $0.fmtSize = 2 }, .notAudio),
            // An unknown chunk before the data whose size runs past the end: the data is never reached.
            HostileInput(
                "junk chunk past the end", with { $0.chunks = [("JUNK", 0x7FFF_FFF0, [1, 2, 3, 4])] }, .notAudio),
            // An INFO entry claiming 1 GB inside a LIST claiming 2 GB: FFmpeg checks the entry against
            // the LIST's end only, and would zero-fill 1 GB for it (found by the fuzzer; now refused by
            // the allocation limit, see HostileInputTests).
            HostileInput(
                "INFO entry of 1 GB",
                with {
                    $0.chunks = [("LIST", 0x7FFF_0000, Array("INFOINAM".utf8) + le32(0x4000_0000) + Array("x\0".utf8))]
                }, .notAudio),
            // A LIST chunk whose size runs past the end hides the data chunk the same way.
            HostileInput(
                "LIST chunk past the end", with { $0.chunks = [("LIST", 0x0FFF_FFFF, Array("INFO".utf8))] }, .notAudio),
        ]
        // Random sizes on the data chunk: FFmpeg decodes what lies in the file, at most the size.
        var random = SeededRandom(seed: 0xC0FFEE)
        for round in 0..<12 {
            let size = Int(random.next() % 0xFFFF_FFFF)
            cases.append(
                HostileInput(
                    "random data size \(round) (\(size))", with { $0.dataSize = size },
                    size >= 4 ? .mp3 : .notAudio))
        }
        return cases
    }

    /// Absurd channel counts, rates and bit depths.
    public static func formatFields() -> [HostileInput] {
        [
            HostileInput("0 channels", with { $0.channels = 0 }, .notAudio),
            HostileInput(
                "65535 channels",
                with {
                    $0.channels = 65535
                    $0.frames = 2
                }, .notAudio),
            HostileInput(
                "1024 channels",
                with {
                    $0.channels = 1024
                    $0.frames = 4
                }, .notAudio),
            HostileInput("sample rate 0", with { $0.sampleRate = 0 }, .notAudio),
            // Below 1 kHz or above 768 kHz: refused (MP3's 8 kHz minimum would upsample 1 Hz 8000 times).
            HostileInput("sample rate 1 Hz", with { $0.sampleRate = 1 }, .notAudio),
            HostileInput("sample rate 999 Hz", with { $0.sampleRate = 999 }, .notAudio),
            HostileInput("sample rate 1 kHz", with { $0.sampleRate = 1000 }, .mp3),
            HostileInput(
                "sample rate 768 kHz",
                with {
                    $0.sampleRate = 768_000
                    $0.frames = 20_000
                }, .mp3),
            HostileInput("sample rate 768001 Hz", with { $0.sampleRate = 768_001 }, .notAudio),
            HostileInput("sample rate 100 MHz", with { $0.sampleRate = 100_000_000 }, .notAudio),
            HostileInput("sample rate 0xFFFFFFFF", with { $0.sampleRate = 0xFFFF_FFFF }, .notAudio),
            HostileInput(
                "0 bits per sample",
                with {
                    $0.bitsPerSample = 0
                    $0.blockAlign = 4
                }, .notAudio),
            // WAV rounds a sample's container up to whole bytes: 7 bits in a byte is 8-bit PCM.
            HostileInput(
                "7 bits per sample",
                with {
                    $0.bitsPerSample = 7
                    $0.blockAlign = 2
                }, .mp3),
            // FFmpeg has a pcm_s64le decoder.
            HostileInput("64-bit integer PCM", with { $0.bitsPerSample = 64 }, .mp3),
            HostileInput(
                "255 bits per sample",
                with {
                    $0.bitsPerSample = 255
                    $0.blockAlign = 64
                }, .notAudio),
            HostileInput(
                "65535 bits per sample",
                with {
                    $0.bitsPerSample = 65535
                    $0.blockAlign = 4
                }, .notAudio),
            // For PCM, FFmpeg derives the block size from channels and bits.
            HostileInput("block align 0", with { $0.blockAlign = 0 }, .mp3),
            HostileInput("format tag 0", with { $0.formatTag = 0 }, .notAudio),
            HostileInput("format tag 0xFFFF", with { $0.formatTag = 0xFFFF }, .notAudio),
            // IEEE float with an integer's bit depth.
            HostileInput("float with 16 bits", with { $0.formatTag = 3 }, .notAudio),
        ]
    }

    /// Chunk sizes that make the next chunk start inside the current one, or at itself.
    public static func selfReferences() -> [HostileInput] {
        [
            // 0xFFFFFFF8 + 8 wraps a 32-bit offset back to the chunk itself.
            HostileInput("chunk pointing at itself", with { $0.chunks = [("JUNK", 0xFFFF_FFF8, [])] }, .notAudio),
            HostileInput(
                "chunk pointing at its own size field", with { $0.chunks = [("JUNK", 0xFFFF_FFFC, [])] }, .notAudio),
            HostileInput(
                "LIST pointing at itself", with { $0.chunks = [("LIST", 0xFFFF_FFF8, Array("INFO".utf8))] }, .notAudio),
            // A RIFF inside the RIFF, where a chunk should be.
            HostileInput(
                "nested RIFF", with { $0.chunks = [("RIFF", nil, Array("WAVEfmt ".utf8) + le32(0xFFFF_FFF0))] }, .mp3),
        ]
    }

    /// Files named .wav that are not audio.
    public static func notAudio() -> [HostileInput] {
        var random = SeededRandom(seed: 42)
        let noise = (0..<20_000).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        return [
            HostileInput("empty file", [], .notAudio),
            HostileInput("one byte", [0x52], .notAudio),
            HostileInput("RIFF and nothing else", Array("RIFF".utf8), .notAudio),
            HostileInput("text", Array(String(repeating: "This is not audio. ", count: 200).utf8), .notAudio),
            HostileInput(
                "HTML error page",
                Array(
                    "<!DOCTYPE html><html><head><title>404 Not Found</title></head><body><h1>Not Found</h1></body></html>\n"
                        .utf8), .notAudio),
            HostileInput(
                "JSON", Array(#"{"error":"AccessDenied","message":"not audio","items":[1,2,3]}"#.utf8), .notAudio),
            HostileInput(
                "S3 error XML",
                Array(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>"
                        .utf8), .notAudio),
            HostileInput(
                "PNG header",
                [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + le32(13) + Array("IHDR".utf8)
                    + [UInt8](repeating: 1, count: 200), .notAudio),
            HostileInput("ZIP header", Array("PK\u{3}\u{4}".utf8) + [UInt8](repeating: 0, count: 300), .notAudio),
            HostileInput(
                "ELF header", [0x7F, 0x45, 0x4C, 0x46, 2, 1, 1, 0] + [UInt8](repeating: 0, count: 2000), .notAudio),
            HostileInput("zeros", [UInt8](repeating: 0, count: 50_000), .notAudio),
            HostileInput("random bytes", noise, .notAudio),
            HostileInput(
                "RIFF AVI",
                Array("RIFF".utf8) + le32(2000) + Array("AVI LIST".utf8) + [UInt8](repeating: 0, count: 2000), .notAudio
            ),
        ]
    }
}

/// xorshift64*: a fixed seed gives the same corpus on every run.
public struct SeededRandom: Sendable {
    var state: UInt64
    public init(seed: UInt64) { state = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed }
    public mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 0x2545_F491_4F6C_DD1D
    }
}
