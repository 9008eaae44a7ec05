import Basics
import Foundation
import Testing

@testable import S3TranscodeCommands

/// PathText replaces NSString's path methods (Foundation beyond FoundationEssentials links ICU into
/// the release binary): it must answer as they did.
@Suite("PathText answers as NSString's path methods do")
struct PathTextTests {
    // What Darwin's NSString answers (swift-corelibs-foundation's deletingLastPathComponent traps on
    // some of these, so the table is written out rather than compared live).
    @Test(
        "lastComponent, deletingLastComponent, deletingExtension",
        arguments: [
            ("", "", "", ""), ("/", "/", "/", "/"), ("a", "a", "", "a"), ("a/", "a", "", "a/"), ("/a", "a", "/", "/a"),
            ("/a/", "a", "/", "/a/"), ("a/b", "b", "a", "a/b"), ("a/b/c.wav", "c.wav", "a/b", "a/b/c"),
            ("/x/y/z.tar.gz", "z.tar.gz", "/x/y", "/x/y/z.tar"), (".hidden", ".hidden", "", ".hidden"),
            ("dir/.hidden", ".hidden", "dir", "dir/.hidden"), ("a.b/c", "c", "a.b", "a.b/c"),
            ("live/2024/Take 5.WAV", "Take 5.WAV", "live/2024", "live/2024/Take 5"),
        ])
    func components(_ path: String, _ last: String, _ folder: String, _ stem: String) {
        #expect(PathText.lastComponent(path) == last)
        #expect(PathText.deletingLastComponent(path) == folder)
        #expect(PathText.deletingExtension(path) == stem)
    }

    @Test(
        "appending",
        arguments: [("out", "a.mp3"), ("out/", "a.mp3"), ("/", "a.mp3"), ("", "a.mp3"), ("/x/y", "z/a.mp3")])
    func appending(_ folder: String, _ name: String) {
        #expect(PathText.appending(folder, name) == (folder as NSString).appendingPathComponent(name))
    }

    @Test("FileStatus: a folder, a file with its size and time, nothing")
    func status() throws {
        let dir = NSTemporaryDirectory() + "s3t-status-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = dir + "/f.wav"
        try Data(repeating: 1, count: 1234).write(to: URL(fileURLWithPath: file))
        #expect(FileStatus(dir)?.isDirectory == true)
        let status = try #require(FileStatus(file))
        #expect(status.isRegularFile && status.size == 1234)
        let attributes = try FileManager.default.attributesOfItem(atPath: file)
        let modified = try #require(attributes[.modificationDate] as? Date)
        #expect(abs(status.modified.timeIntervalSince1970 - modified.timeIntervalSince1970) < 0.001)
        #expect(FileStatus(dir + "/missing") == nil)
    }
}
