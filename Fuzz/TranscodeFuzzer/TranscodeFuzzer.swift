// libFuzzer target over the input path: the fuzzer's bytes go through `MemorySource`, the same
// custom AVIO read and seek callbacks that files and S3 objects use, into FFmpeg's demuxers and
// decoders, the resampler, LAME and the MP3 muxer. Built and run by `Scripts/fuzz.sh`, never by
// `swift build` (it is not part of the package).
//
// A finding is anything that is not "a correct MP3 or a `TranscodeError`": a trap (Swift's
// bounds, overflow and precondition checks), an AddressSanitizer report, a leak, a hang
// (`-timeout`), or an error of another type.
import AudioTranscode

#if canImport(Glibc)
import Glibc
#endif

/// Discards the MP3 but honours the window, as a local file does.
private final class CountingSink: OutputSink {
    var written: Int64 = 0
    let rewritableWindow: Int64? = .max
    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws {
        written = max(written, offset + Int64(bytes.count))
    }
    func finish() throws {}
    func abort() {}
}

@_cdecl("LLVMFuzzerInitialize")
public func fuzzerInitialize(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> Int32 {
    FFmpegLog.setLevel(.quiet)
    if let directory = getenv("FUZZ_WRITE_SEEDS") {
        SeedCorpus.write(to: String(cString: directory))
        exit(0)
    }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    // The last byte picks the path (a file, a pipe, or probe), so one corpus covers all three; in
    // a WAV it is a sample, which changes nothing the parsers look at.
    let mode = bytes.last.map { $0 % 3 } ?? 0
    let source = MemorySource(bytes, name: "fuzz.wav", seekable: mode != 1)
    do {
        if mode == 2 {
            _ = try probe(source)
        } else {
            _ = try Transcoder().transcode(from: source, to: CountingSink())
        }
    } catch let error as TranscodeError {
        // The one-line rule holds for every rejection.
        if error.message.contains("\n") || !error.message.hasPrefix("fuzz.wav") {
            fatalError("a TranscodeError that breaks the one-line rule: \(error.message)")
        }
    } catch {
        fatalError("an error that is not a TranscodeError: \(error)")
    }
    return 0
}
