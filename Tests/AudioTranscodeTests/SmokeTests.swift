import Testing
@testable import AudioTranscode
@Test func linksFFmpeg() { #expect(libavformatVersion > 0) }
