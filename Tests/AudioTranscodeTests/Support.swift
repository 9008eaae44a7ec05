import AudioTranscode
import Foundation
import Testing

/// A fresh directory under the system temporary directory, removed by `remove()`.
struct TemporaryDirectory {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "audiotranscode-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String { path + "/" + name }

    func write(_ bytes: [UInt8], to name: String) throws -> String {
        let target = file(name)
        try Data(bytes).write(to: URL(fileURLWithPath: target))
        return target
    }

    /// Every entry in the directory (to check that nothing was left behind).
    func contents() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: path).sorted() }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// Runs a tool to completion and returns its standard output; fails the test on a non-zero exit.
func run(_ tool: String, _ arguments: [String]) throws -> Data {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [tool] + arguments
    let output = Pipe()
    let errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    try process.run()
    // Read both pipes to the end before waiting, so a chatty tool cannot block on a full pipe.
    let group = DispatchGroup()
    nonisolated(unsafe) var errorData = Data()
    group.enter()
    Thread.detachNewThread {
        errorData = errors.fileHandleForReading.readDataToEndOfFile()
        group.leave()
    }
    let data = output.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw ToolFailure(
            description:
                "\(tool) \(arguments.joined(separator: " ")) exited \(process.terminationStatus): \(String(decoding: errorData.suffix(600), as: UTF8.self))"
        )
    }
    return data
}

struct ToolFailure: Error, CustomStringConvertible { let description: String }

/// Decoded audio: interleaved float samples.
struct DecodedAudio {
    let channels: Int
    let sampleRate: Int
    let samples: [Float]

    var frames: Int { samples.count / channels }

    func channel(_ index: Int) -> [Double] {
        stride(from: index, to: samples.count, by: channels).map { Double(samples[$0]) }
    }
}

/// Decodes `path` with FFmpeg's own decoder (the `ffmpeg` CLI, which trims the encoder delay and
/// padding the LAME frame records) to 32-bit float at its own rate and channel count.
func decodeWithFFmpeg(_ path: String) throws -> DecodedAudio {
    let info = try ffprobeStream(path)
    let data = try run("ffmpeg", ["-v", "error", "-i", path, "-f", "f32le", "-c:a", "pcm_f32le", "-"])
    let samples = data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    return DecodedAudio(channels: info.channels, sampleRate: info.sampleRate, samples: samples)
}

struct ProbedStream {
    let codec: String
    let sampleRate: Int
    let channels: Int
    let duration: Double?
    let startTime: Double?
    let tags: [String: String]
}

/// ffprobe's view of the first audio stream and the format's tags and duration.
func ffprobeStream(_ path: String) throws -> ProbedStream {
    let data = try run(
        "ffprobe",
        ["-v", "error", "-print_format", "json", "-show_format", "-show_streams", "-select_streams", "a:0", path])
    let json = try JSONSerialization.jsonObject(with: data) as! [String: Any]
    let stream = (json["streams"] as! [[String: Any]])[0]
    let format = json["format"] as! [String: Any]
    return ProbedStream(
        codec: stream["codec_name"] as! String,
        sampleRate: Int(stream["sample_rate"] as! String)!,
        channels: stream["channels"] as! Int,
        duration: (format["duration"] as? String).flatMap(Double.init),
        startTime: (format["start_time"] as? String).flatMap(Double.init),
        tags: (format["tags"] as? [String: String]) ?? [:])
}

/// The sine in `signal`: its frequency (from zero crossings, interpolated) and the ratio of its
/// power to the power of everything else, after a least-squares fit of amplitude and phase.
struct SineAnalysis {
    let frequency: Double
    let amplitude: Double
    let snr: Double

    init(_ signal: ArraySlice<Double>, sampleRate: Int) {
        let values = Array(signal)
        // Frequency: rising zero crossings, with linear interpolation between samples.
        var crossings: [Double] = []
        for i in 1..<values.count where values[i - 1] < 0 && values[i] >= 0 {
            crossings.append(Double(i - 1) + values[i - 1] / (values[i - 1] - values[i]))
        }
        let frequency =
            crossings.count > 1
            ? Double(crossings.count - 1) * Double(sampleRate) / (crossings.last! - crossings.first!)
            : 0
        // Least-squares fit of a·sin + b·cos at that frequency.
        var ss = 0.0
        var cc = 0.0
        var sc = 0.0
        var ys = 0.0
        var yc = 0.0
        let w = 2 * Double.pi * frequency / Double(sampleRate)
        for (n, y) in values.enumerated() {
            let s = sin(w * Double(n))
            let c = cos(w * Double(n))
            ss += s * s
            cc += c * c
            sc += s * c
            ys += y * s
            yc += y * c
        }
        let det = ss * cc - sc * sc
        let a = det == 0 ? 0 : (ys * cc - yc * sc) / det
        let b = det == 0 ? 0 : (yc * ss - ys * sc) / det
        var signalPower = 0.0
        var noisePower = 0.0
        for (n, y) in values.enumerated() {
            let fit = a * sin(w * Double(n)) + b * cos(w * Double(n))
            signalPower += fit * fit
            noisePower += (y - fit) * (y - fit)
        }
        self.frequency = frequency
        self.amplitude = (a * a + b * b).squareRoot()
        self.snr = noisePower == 0 ? .infinity : 10 * log10(signalPower / noisePower)
    }
}

/// A sink in memory with a configurable window (nil: behaves as a pipe).
final class MemorySink: OutputSink {
    var bytes: [UInt8] = []
    let rewritableWindow: Int64?
    private(set) var finished = false
    private(set) var aborted = false
    private(set) var rewrites: [Range<Int64>] = []

    init(window: Int64? = .max) { rewritableWindow = window }

    func write(_ buffer: UnsafeRawBufferPointer, at offset: Int64) throws {
        let start = Int(offset)
        if start < bytes.count { rewrites.append(offset..<offset + Int64(buffer.count)) }
        let end = start + buffer.count
        if end > bytes.count { bytes += [UInt8](repeating: 0, count: end - bytes.count) }
        bytes.replaceSubrange(start..<end, with: buffer)
    }

    func finish() throws { finished = true }
    func abort() { aborted = true }
}

/// A source over bytes in memory, seekable or not, that records the seeks FFmpeg makes.
final class RecordingSource: ByteSource {
    let bytes: [UInt8]
    let isSeekable: Bool
    let name: String
    private var offset = 0

    init(_ bytes: [UInt8], seekable: Bool = true, name: String = "memory.wav") {
        self.bytes = bytes
        self.isSeekable = seekable
        self.name = name
    }

    var size: Int64? { isSeekable ? Int64(bytes.count) : nil }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let count = min(buffer.count, bytes.count - offset)
        guard count > 0 else { return 0 }
        bytes.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[offset..<offset + count])) }
        offset += count
        return count
    }

    private(set) var seeks: [Int64] = []

    func seek(to offset: Int64) throws {
        seeks.append(offset)
        self.offset = Int(offset)
    }
}

/// Pipes for the standard input and output tests, fed and drained by threads of their own.
enum Pipes {
    /// A pipe whose write end a background thread fills with `bytes`, then closes. Returns the
    /// read end (the caller closes it).
    static func feeding(_ bytes: [UInt8]) -> Int32 {
        signal(SIGPIPE, SIG_IGN)  // a transcode that stops reading early must not kill the test run
        var fds: [Int32] = [0, 0]
        precondition(pipe(&fds) == 0)
        let writeEnd = fds[1]
        Thread.detachNewThread {
            bytes.withUnsafeBytes { buffer in
                var offset = 0
                while offset < buffer.count {
                    let done = write(writeEnd, buffer.baseAddress! + offset, buffer.count - offset)
                    if done <= 0 { break }
                    offset += done
                }
            }
            close(writeEnd)
        }
        return fds[0]
    }

    /// A pipe whose read end a background thread drains. Returns the write end and a function that
    /// closes it and returns everything read.
    static func draining() -> (writeEnd: Int32, collect: () -> [UInt8]) {
        signal(SIGPIPE, SIG_IGN)
        var fds: [Int32] = [0, 0]
        precondition(pipe(&fds) == 0)
        let readEnd = fds[0]
        let box = CollectedBytes()
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            var chunk = [UInt8](repeating: 0, count: 65536)
            while true {
                let got = chunk.withUnsafeMutableBytes { read(readEnd, $0.baseAddress!, $0.count) }
                if got <= 0 { break }
                box.bytes += chunk[0..<got]
            }
            close(readEnd)
            done.signal()
        }
        let writeEnd = fds[1]
        return (
            writeEnd,
            {
                close(writeEnd)
                done.wait()
                return box.bytes
            }
        )
    }
}

private final class CollectedBytes: @unchecked Sendable {
    var bytes: [UInt8] = []
}
