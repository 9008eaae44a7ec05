import AWSConfig
import Basics
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `--manifest FILE`: one JSON line (the `--json` object) per finished file, appended as each file
/// finishes. Each line goes out in one `write(2)` on a descriptor opened with `O_APPEND`, under a
/// lock: lines from parallel jobs (and from other processes appending to the same file) never
/// interleave, and a line is in the file the moment its file is done, so a killed run loses nothing.
final class ManifestWriter: Sendable {
    let path: String
    private let descriptor: Mutex<Int32>

    init(path: String) throws(CommandFailure) {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw CommandFailure(
                .cannotCreate,
                "--manifest \(path): cannot open it for appending "
                    + "(\(String(cString: strerror(errno)))); check the folder exists and is writable")
        }
        self.path = path
        descriptor = Mutex(fd)
    }

    deinit { descriptor.withLock { _ = close($0) } }

    func append(_ report: JobReport) throws {
        let line = Array((try JSONLine.encode(report) + "\n").utf8)
        try descriptor.withLock { fd in
            let written = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard written == line.count else {
                throw CommandFailure(
                    .ioError, "--manifest \(path): writing failed (\(String(cString: strerror(errno))))")
            }
        }
    }
}

/// `--resume FILE`: what an earlier run's manifest says is done.
enum ManifestReader {
    /// Statuses that mean "nothing left to do for this input and destination".
    static let doneStatuses: Set<String> = ["uploaded", "written", "skipped"]

    /// The (input, destination) pairs a manifest records as done. Lines that do not parse (a run
    /// killed mid-line) are ignored; a later `failed` line for a pair does not undo an earlier
    /// success (the object is still there).
    static func done(path: String) throws(CommandFailure) -> Set<Pair> {
        guard let data = (try? LocalFiles().read(path)) ?? nil else {
            throw CommandFailure(
                .noInput, "--resume \(path): cannot read it; give the manifest an earlier run wrote with --manifest")
        }
        var done: Set<Pair> = []
        for line in data.split(separator: UInt8(ascii: "\n")) where !line.isEmpty {
            guard let entry = try? JSONValue.parse(line),
                let status = entry["status"]?.string, doneStatuses.contains(status),
                let input = entry["input"]?.string, let destination = entry["destination"]?.string
            else { continue }
            done.insert(Pair(input: input, destination: destination))
        }
        return done
    }

    struct Pair: Hashable {
        var input: String
        var destination: String
    }
}
