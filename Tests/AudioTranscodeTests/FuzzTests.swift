import AudioTranscode
import TestSupport
import Testing

@Test(
    "Mutated WAV headers either transcode or fail with a TranscodeError; never crash, never leave the sink unaborted",
    arguments: [
        WAVFixture(frames: 3000, info: [("INAM", "fuzz")]),
        WAVFixture(encoding: .f32, container: .extensible, channels: 6, frames: 3000, amplitude: 0.1),
    ])
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
            _ = try Transcoder().transcode(
                from: MemorySource(bytes, name: "fuzz-\(round).wav", seekable: round % 2 == 0), to: sink)
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
