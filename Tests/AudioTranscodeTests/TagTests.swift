import AudioTranscode
import Foundation
import TestSupport
import Testing

/// LIST/INFO as a tagging tool writes it, with text that must survive as UTF-8.
let infoChunk: [(id: String, value: String)] = [
    ("INAM", "Ünïcødé — 日本語のタイトル"), ("IART", "Björk & Sigur Rós"), ("IPRD", "Ålbum ☃"),
    ("ICRD", "2024"), ("IGNR", "Électronique"), ("ICMT", "a comment, with ✓"), ("ITRK", "7"),
]

private func transcodeTagged(_ options: EncodingOptions, infoAfterData: Bool = false) throws -> (
    bytes: [UInt8], result: TranscodeResult
) {
    var fixture = WAVFixture(frames: 8000, info: infoChunk)
    fixture.infoAfterData = infoAfterData
    let sink = MemorySink()
    let result = try Transcoder(options: options).transcode(from: RecordingSource(fixture.bytes()), to: sink)
    return (sink.bytes, result)
}

@Test("LIST/INFO tags become ID3v2 tags, UTF-8 intact, wherever the chunk is", arguments: [false, true])
func tagsFromListInfo(infoAfterData: Bool) throws {
    let (bytes, result) = try transcodeTagged(EncodingOptions(), infoAfterData: infoAfterData)
    let tags = try probe(RecordingSource(bytes, name: "out.mp3")).tags
    #expect(tags["title"] == "Ünïcødé — 日本語のタイトル")
    #expect(tags["artist"] == "Björk & Sigur Rós")
    #expect(tags["album"] == "Ålbum ☃")
    #expect(tags["date"] == "2024")
    #expect(tags["genre"] == "Électronique")
    #expect(tags["comment"] == "a comment, with ✓")
    #expect(tags["track"] == "7")
    #expect(result.tags.title == "Ünïcødé — 日本語のタイトル")
}

@Test("Explicit tags win over the input's; the rest still comes from LIST/INFO; ffprobe agrees")
func explicitTagsWin() throws {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let options = EncodingOptions(tags: Tags(title: "Über-Titel", year: "1999", track: "3/12", comment: "flag ✓"))
    let (bytes, _) = try transcodeTagged(options)
    let path = try dir.write(bytes, to: "out.mp3")
    let tags = try ffprobeStream(path).tags
    #expect(tags["title"] == "Über-Titel")
    #expect(tags["artist"] == "Björk & Sigur Rós")
    #expect(tags["date"] == "1999")
    #expect(tags["track"] == "3/12")
    #expect(tags["comment"] == "flag ✓")
    #expect(tags["genre"] == "Électronique")
}

@Test("Not copying input tags keeps only the explicit ones")
func onlyExplicitTags() throws {
    let (bytes, _) = try transcodeTagged(EncodingOptions(tags: Tags(artist: "Only Me"), copiesInputTags: false))
    let tags = try probe(RecordingSource(bytes)).tags
    #expect(tags["artist"] == "Only Me")
    #expect(tags["title"] == nil && tags["album"] == nil)
}

@Test("No tags: no ID3v2 tag at all, the file starts with the Info frame")
func noTags() throws {
    let (bytes, result) = try transcodeTagged(EncodingOptions(tags: Tags(title: "ignored"), writesTags: false))
    #expect(Array(bytes.prefix(3)) != Array("ID3".utf8))
    #expect(MP3Layout(bytes).id3Size == 0)
    #expect(MP3Layout(bytes).xing?.tag == "Info")
    #expect(result.tags == Tags())
    #expect(try probe(RecordingSource(bytes)).tags["title"] == nil)
}

@Test("Tags merge field by field")
func tagMerging() {
    let input = Tags(metadata: ["title": "In", "artist": "A", "date": "2001", "encoder": "x"])
    #expect(input == Tags(title: "In", artist: "A", year: "2001"))
    #expect(
        input.overridden(by: Tags(title: "Out", genre: "G"))
            == Tags(title: "Out", artist: "A", year: "2001", genre: "G"))
}
