import ArgumentParser
import Foundation
import Testing

@testable import AudioTranscode
@testable import S3TranscodeCommands

@Test("--threads reaches the encoding options (default: the command's); --segment-frames is hidden")
func threadsOption() throws {
    let serial = try EncodingOptionGroup.parse([]).encodingOptions(tags: Tags(), writesTags: true)
    #expect(serial.threads == 1)
    let byDefault = try EncodingOptionGroup.parse([]).encodingOptions(tags: Tags(), writesTags: true, defaultThreads: 3)
    #expect(byDefault.threads == 3)
    let given = try EncodingOptionGroup.parse(["--threads", "1"])
        .encodingOptions(tags: Tags(), writesTags: true, defaultThreads: 3)
    #expect(given.threads == 1)
    #expect(TranscodeCommand.defaultThreads == min(8, ProcessInfo.processInfo.activeProcessorCount))
    let parallel = try EncodingOptionGroup.parse(["--threads", "4", "--segment-frames", "200"])
        .encodingOptions(tags: Tags(), writesTags: true)
    #expect(parallel.threads == 4 && parallel.segmentFrames == 200)
    #expect(throws: (any Error).self) { try EncodingOptionGroup.parse(["--threads", "0"]) }
    #expect(!S3Transcode.helpMessage(for: TranscodeCommand.self, columns: 80).contains("segment-frames"))
}

@Test("-v names the joins in the form the join checker reads")
func joinsLine() {
    var result = TranscodeResult(
        input: InputDescription(
            container: "wav", codec: "pcm_s16le", sampleRate: 44100, channels: 2, channelLayout: "stereo",
            sampleFormat: "s16"),
        outputSampleRate: 44100, outputChannels: 2, outputSampleFormat: "s16p", bitrate: .cbr(kbps: 192),
        samplesIn: 0, samplesOut: 0, frames: 0, bytesWritten: 0, hasGaplessInfo: true, tags: Tags(), warnings: [])
    result.segments = 3
    result.joins = [
        SegmentJoin(frame: 1020, shift: 0, enlargedFrames: 0, contentMatches: true),
        SegmentJoin(frame: 2001, shift: 21, enlargedFrames: 1, contentMatches: false),
    ]
    #expect(Summary.joins(of: result) == "parallel: 3 segments, joins at frames 1020,2001")
    #expect(
        Summary.line(for: result.joins[1])
            == "join at frame 2001: main data moved 21 bytes, 1 frames enlarged, content differs")
}
