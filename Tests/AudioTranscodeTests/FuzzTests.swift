import AudioTranscode
import TestSupport
import Testing

/// A fixed-seed generator so a failing mutation can be replayed.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Test("Mutated WAV headers either transcode or fail with a TranscodeError; never crash, never leave the sink unaborted",
      arguments: [WAVFixture(frames: 3000, info: [("INAM", "fuzz")]), WAVFixture(encoding: .f32, container: .extensible, channels: 6, frames: 3000, amplitude: 0.1)])
func fuzzHeaders(_ fixture: WAVFixture) throws {
    let original = fixture.bytes()
    var random = SplitMix64(state: 0x5EED)
    var outcomes = (transcoded: 0, rejected: 0)
    for round in 0..<150 {
        var bytes = original
        for _ in 0..<Int.random(in: 1...4, using: &random) {
            let at = Int.random(in: 0..<min(120, bytes.count), using: &random)
            bytes[at] = UInt8.random(in: 0...255, using: &random)
        }
        if round % 5 == 0 { bytes = Array(bytes.prefix(Int.random(in: 0..<bytes.count, using: &random))) }
        let sink = MemorySink()
        do {
            _ = try Transcoder().transcode(from: MemorySource(bytes, name: "fuzz-\(round).wav", seekable: round % 2 == 0), to: sink)
            #expect(sink.finished && !sink.aborted)
            outcomes.transcoded += 1
        } catch let error as TranscodeError {
            #expect(sink.aborted && !sink.finished)
            #expect(error.message.hasPrefix("fuzz-\(round).wav: "), "\(error)")
            #expect(error.kind != .internalFailure || error.message.contains("fuzz"), "\(error)")
            outcomes.rejected += 1
        }
    }
    #expect(outcomes.transcoded > 0 && outcomes.rejected > 0, "\(outcomes)")
}
