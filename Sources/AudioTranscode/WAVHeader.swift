/// What a RIFF/RF64/BW64 header announces about its data chunk, read from the first bytes of the
/// input: only to warn when the file ends before the data the header promises (FFmpeg silently
/// reads to the end of the file then).
struct AnnouncedWAVData: Equatable {
    /// Bytes of sample data the header promises.
    let size: Int64

    /// nil when `head` is not a WAV header, the data chunk is not within it, or the size is a
    /// streaming writer's placeholder (0 or 0xFFFFFFFF without an RF64 ds64 chunk).
    init?(head: [UInt8]) {
        func u32(_ at: Int) -> Int64 {
            Int64(head[at]) | Int64(head[at + 1]) << 8 | Int64(head[at + 2]) << 16 | Int64(head[at + 3]) << 24
        }
        func u64(_ at: Int) -> Int64 { u32(at) | u32(at + 4) << 32 }
        func id(_ at: Int) -> String { String(decoding: head[at..<at + 4], as: UTF8.self) }
        guard head.count >= 12, id(8) == "WAVE" else { return nil }
        let outer = id(0)
        guard outer == "RIFF" || outer == "RF64" || outer == "BW64" else { return nil }
        var ds64DataSize: Int64?
        var offset = 12
        while offset + 8 <= head.count {
            let chunk = id(offset)
            let size = u32(offset + 4)
            if chunk == "ds64", offset + 24 <= head.count {
                ds64DataSize = u64(offset + 16)
            }
            if chunk == "data" {
                let announced = size == 0xFFFF_FFFF ? ds64DataSize ?? 0 : size
                guard announced > 0 else { return nil }
                self.size = announced
                return
            }
            offset += 8 + Int(size) + Int(size & 1)
        }
        return nil
    }
}
