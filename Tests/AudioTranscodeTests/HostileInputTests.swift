import AudioTranscode
import Foundation
import Synchronization
import TestSupport
import Testing

/// What one hostile input did, within the time bound.
enum HostileOutcome {
    case mp3([UInt8])
    case rejected(TranscodeError)
    case otherError(any Error)
    case timedOut
}

/// Transcodes `input` on a thread of its own and waits at most `seconds`. A run past the bound is
/// asked to stop (`isCancelled`) and reported as `.timedOut`: a hang fails the test, it does not
/// block the suite.
func transcodeBounded(_ input: HostileInput, seekable: Bool, seconds: Double) -> HostileOutcome {
    final class Box: @unchecked Sendable {
        var outcome: HostileOutcome = .timedOut
        let stop = Atomic<Bool>(false)
    }
    let box = Box()
    let done = DispatchSemaphore(value: 0)
    let thread = Thread {
        let sink = HostileSink()
        do {
            _ = try Transcoder().transcode(
                from: MemorySource(input.bytes, name: "hostile.wav", seekable: seekable), to: sink,
                isCancelled: { box.stop.load(ordering: .relaxed) })
            box.outcome = sink.finished ? .mp3(sink.bytes) : .otherError(HostileSink.NotFinished())
        } catch let error as TranscodeError {
            box.outcome = .rejected(error)
        } catch {
            box.outcome = .otherError(error)
        }
        done.signal()
    }
    thread.start()
    if done.wait(timeout: .now() + seconds) == .timedOut {
        box.stop.store(true, ordering: .relaxed)
        return .timedOut
    }
    return box.outcome
}

/// A local file's behaviour in memory: the whole output rewritable.
final class HostileSink: OutputSink, @unchecked Sendable {
    struct NotFinished: Error {}
    var bytes: [UInt8] = []
    var finished = false
    var aborted = false
    let rewritableWindow: Int64? = .max

    func write(_ buffer: UnsafeRawBufferPointer, at offset: Int64) throws {
        let end = Int(offset) + buffer.count
        if end > bytes.count { bytes += [UInt8](repeating: 0, count: end - bytes.count) }
        bytes.replaceSubrange(Int(offset)..<end, with: buffer)
    }
    func finish() throws { finished = true }
    func abort() { aborted = true }
}

@Suite("Hostile input: every generated case is rejected as not audio, or is a valid MP3, within a time bound")
struct HostileInputTests {
    /// Generous for a debug build on a busy 2-core machine; each case takes well under a second.
    static let bound = 20.0

    @Test("each case as a seekable file", arguments: HostileCorpus.all())
    func seekable(_ input: HostileInput) throws {
        try check(input, seekable: true)
    }

    @Test("each case as a pipe", arguments: HostileCorpus.all())
    func pipe(_ input: HostileInput) throws {
        try check(input, seekable: false)
    }

    func check(_ input: HostileInput, seekable: Bool) throws {
        switch transcodeBounded(input, seekable: seekable, seconds: Self.bound) {
        case .timedOut:
            Issue.record("\(input.name): still running after \(Self.bound) s")
        case .otherError(let error):
            Issue.record("\(input.name): not a TranscodeError: \(error)")
        case .rejected(let error):
            #expect(input.expected == .notAudio, "\(input.name): rejected: \(error.message)")
            #expect(error.kind == .notAudio, "\(input.name): \(error.kind): \(error.message)")
            #expect(error.message.hasPrefix("hostile.wav: ") && !error.message.contains("\n"), "\(error.message)")
        case .mp3(let bytes):
            #expect(input.expected == .mp3, "\(input.name): transcoded to \(bytes.count) bytes of MP3")
            // A valid MP3: FFmpeg reads it back as MP3 audio.
            let result = try probe(MemorySource(bytes, name: "out.mp3"))
            #expect(
                result.container == "mp3" && result.codec == "mp3" && (1...2).contains(result.channels), "\(result)")
            #expect((result.duration ?? 0) > 0)
        }
    }

    @Test("an INFO entry claiming 1 GB is refused without allocating it (peak RSS grows < 100 MB)")
    func hugeInfoEntry() throws {
        let input = try #require(HostileCorpus.all().first { $0.name == "INFO entry of 1 GB" })
        func peakRSS() -> Int {
            var usage = rusage()
            getrusage(RUSAGE_SELF.rawValue, &usage)
            return usage.ru_maxrss * 1024
        }
        let before = peakRSS()
        for seekable in [true, false] {
            guard case .rejected(let error) = transcodeBounded(input, seekable: seekable, seconds: Self.bound) else {
                Issue.record("not rejected")
                continue
            }
            #expect(error.kind == .notAudio)
        }
        #expect(peakRSS() - before < 100 << 20, "peak RSS grew by \((peakRSS() - before) >> 20) MiB")
    }

    @Test("the corpus covers each family with both outcomes where FFmpeg can decode something")
    func corpusShape() {
        let all = HostileCorpus.all()
        #expect(all.count > 100)
        #expect(HostileCorpus.truncations().contains { $0.expected == .mp3 })
        #expect(HostileCorpus.truncations().contains { $0.expected == .notAudio })
        #expect(HostileCorpus.notAudio().allSatisfy { $0.expected == .notAudio })
    }
}
