/// How libmp3lame spends bits.
public enum BitrateMode: Sendable, Equatable, Codable, CustomStringConvertible {
    /// Constant bitrate in kbit/s (8...320; LAME uses the nearest bitrate the MP3 layer allows).
    case cbr(kbps: Int)
    /// LAME's variable bitrate at quality 0 (best) ... 9 (smallest), as `lame -V`.
    case vbr(quality: Int)
    /// Average bitrate in kbit/s (8...320), as `lame --abr`.
    case abr(kbps: Int)

    public var description: String {
        switch self {
        case .cbr(let kbps): "CBR \(kbps) kbps"
        case .vbr(let quality): "VBR quality \(quality)"
        case .abr(let kbps): "ABR \(kbps) kbps"
        }
    }
}

/// ID3 text fields. nil leaves a field to the input's metadata (or absent).
public struct Tags: Sendable, Equatable, Codable {
    public var title: String?
    public var artist: String?
    public var album: String?
    /// Written as the ID3v2.4 recording date (TDRC); the WAV demuxer's `date` (ICRD) maps here.
    public var year: String?
    /// "3" or "3/12".
    public var track: String?
    public var genre: String?
    public var comment: String?

    public init(
        title: String? = nil, artist: String? = nil, album: String? = nil, year: String? = nil,
        track: String? = nil, genre: String? = nil, comment: String? = nil
    ) {
        self.title = title
        self.artist = artist
        self.album = album
        self.year = year
        self.track = track
        self.genre = genre
        self.comment = comment
    }

    /// FFmpeg metadata keys, the order the fields are written in.
    static var keys: [(key: String, field: WritableKeyPath<Tags, String?>)] {
        [
            ("title", \.title), ("artist", \.artist), ("album", \.album), ("date", \.year),
            ("track", \.track), ("genre", \.genre), ("comment", \.comment),
        ]
    }

    /// The fields found in FFmpeg metadata (`title`, `artist`, `album`, `date`, `track`, `genre`,
    /// `comment`; the WAV demuxer maps LIST/INFO's INAM, IART, IPRD, ICRD, ITRK, IGNR, ICMT to these).
    public init(metadata: [String: String]) {
        self.init()
        for (key, field) in Tags.keys { self[keyPath: field] = metadata[key] }
        if year == nil { year = metadata["year"] }
    }

    /// `self` with every field `overrides` sets replaced: explicit options win over input tags.
    public func overridden(by overrides: Tags) -> Tags {
        var merged = self
        for (_, field) in Tags.keys where overrides[keyPath: field] != nil {
            merged[keyPath: field] = overrides[keyPath: field]
        }
        return merged
    }

    /// Key/value pairs for the muxer, empty fields left out.
    var metadata: [(key: String, value: String)] {
        Tags.keys.compactMap { key, field in
            guard let value = self[keyPath: field], !value.isEmpty else { return nil }
            return (key, value)
        }
    }
}

/// Everything the MP3 encoder and muxer are told. The defaults match
/// `ffmpeg -i in -c:a libmp3lame -b:a 192k out.mp3`.
public struct EncodingOptions: Sendable, Equatable {
    /// CBR 192 kbit/s unless told otherwise.
    public var bitrate: BitrateMode = .cbr(kbps: 192)
    /// LAME's algorithm quality, 0 (best, slowest) ... 9 (worst, fastest), as `lame -q`;
    /// nil keeps LAME's default (what ffmpeg does).
    public var algorithmQuality: Int?
    /// The output sample rate; nil keeps the input's. Either way a rate MP3 cannot carry becomes the
    /// nearest legal one of the same family (`MP3SampleRate.legal(for:)`).
    public var sampleRate: Int?
    /// 1 or 2; nil keeps mono as mono and makes everything else stereo (downmixed with the matrix
    /// for the input's channel layout).
    public var channels: Int?
    /// Explicit tags; they win over the input's.
    public var tags: Tags = Tags()
    /// Copy title, artist, album, date, track, genre and comment from the input's metadata.
    public var copiesInputTags: Bool = true
    /// false: no ID3v2 tag at all (`--no-tags`), not even the encoder's name.
    public var writesTags: Bool = true
    /// Encoder threads for one input: 1 is the serial encode; more cut the audio into segments
    /// encoded at once and joined into one stream (`ParallelEncoder`).
    public var threads: Int = 1
    /// Frames per segment of a parallel encode (rounded down to a multiple of 98, at least 98);
    /// nil for the default (980, about 26 s at 44.1 kHz). For tests that need several joins in a
    /// short input.
    public var segmentFrames: Int?
    /// Bytes of converted audio a parallel encode may hold in its segments (those being encoded and
    /// the one being filled); nil: no bound but `threads`. Fewer segments are encoded at once when
    /// `threads` of them would not fit, down to one.
    public var segmentMemory: Int?

    public init(
        bitrate: BitrateMode = .cbr(kbps: 192), algorithmQuality: Int? = nil, sampleRate: Int? = nil,
        channels: Int? = nil, tags: Tags = Tags(), copiesInputTags: Bool = true, writesTags: Bool = true
    ) {
        self.bitrate = bitrate
        self.algorithmQuality = algorithmQuality
        self.sampleRate = sampleRate
        self.channels = channels
        self.tags = tags
        self.copiesInputTags = copiesInputTags
        self.writesTags = writesTags
    }

    /// Throws `.invalidOptions` for values out of range. The transcoder calls it first.
    public func validate() throws(TranscodeError) {
        switch bitrate {
        case .cbr(let kbps), .abr(let kbps):
            guard (8...320).contains(kbps) else {
                throw TranscodeError(.invalidOptions, "bitrate \(kbps) kbps is out of range; use 8 to 320")
            }
        case .vbr(let quality):
            guard (0...9).contains(quality) else {
                throw TranscodeError(.invalidOptions, "VBR quality \(quality) is out of range; use 0 (best) to 9")
            }
        }
        if let algorithmQuality, !(0...9).contains(algorithmQuality) {
            throw TranscodeError(.invalidOptions, "quality \(algorithmQuality) is out of range; use 0 (best) to 9")
        }
        if !(1...64).contains(threads) {
            throw TranscodeError(.invalidOptions, "\(threads) threads requested; use 1 to 64")
        }
        if let channels, !(1...2).contains(channels) {
            throw TranscodeError(.invalidOptions, "\(channels) output channels requested; MP3 carries 1 or 2")
        }
        if let sampleRate, !(1...1_000_000).contains(sampleRate) {
            throw TranscodeError(.invalidOptions, "sample rate \(sampleRate) Hz is out of range; use for example 44100")
        }
    }
}

/// The sample rates an MP3 can carry (MPEG-1, MPEG-2 and MPEG-2.5 layer III).
public enum MP3SampleRate {
    public static let legalRates = [8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000]

    /// The rate an input at `rate` is encoded at: `rate` itself when legal; otherwise the nearest
    /// legal rate of the same family — multiples of 11025 go to 11025/22050/44100 (88.2k and
    /// 176.4k to 44.1k), multiples of 4000 to 8k/12k/16k/24k/32k/48k (96k, 192k and 64k to 48k) —
    /// and any other rate to the nearest legal one (ties go up).
    public static func legal(for rate: Int) -> Int {
        if legalRates.contains(rate) { return rate }
        let family: [Int]
        if rate % 11025 == 0 {
            family = [11025, 22050, 44100]
        } else if rate % 4000 == 0 {
            family = [8000, 12000, 16000, 24000, 32000, 48000]
        } else {
            family = legalRates
        }
        return family.min { a, b in
            let da = abs(a - rate)
            let db = abs(b - rate)
            return da != db ? da < db : a > b
        }!
    }
}
