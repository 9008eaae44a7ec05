import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Everything a person reads goes to stderr, one whole line at a time (threads never interleave
/// inside a line); stdout is for data only (the MP3 when the destination is `-`, or JSON).
final class Console: Sendable {
    static let shared = Console()

    private let lock = Mutex<Void>(())
    /// Whether stderr is a terminal: live progress is redrawn in place only there.
    let isInteractive = isatty(STDERR_FILENO) == 1
    private let hasLiveLine = Atomic<Bool>(false)

    /// A line for people (progress summaries, `-v` request lines, warnings).
    func info(_ line: String) { write(line + "\n", to: STDERR_FILENO) }

    func error(_ line: String) { write("s3transcode: error: " + line + "\n", to: STDERR_FILENO) }

    func warning(_ line: String) { write("s3transcode: warning: " + line + "\n", to: STDERR_FILENO) }

    /// Data for programs: JSON lines on stdout.
    func output(_ line: String) {
        lock.withLock { _ in Console.writeAll(line + "\n", to: STDOUT_FILENO) }
    }

    /// Redraws the live status line (a terminal only; elsewhere it is not drawn at all).
    func status(_ line: String) {
        guard isInteractive else { return }
        lock.withLock { _ in Console.writeAll("\r\u{1B}[2K" + line, to: STDERR_FILENO) }
        hasLiveLine.store(true, ordering: .relaxed)
    }

    /// Clears the live status line so that ordinary lines start at column 0.
    func clearStatus() {
        guard hasLiveLine.exchange(false, ordering: .relaxed) else { return }
        lock.withLock { _ in Console.writeAll("\r\u{1B}[2K", to: STDERR_FILENO) }
    }

    private func write(_ text: String, to descriptor: Int32) {
        clearStatus()
        lock.withLock { _ in Console.writeAll(text, to: descriptor) }
    }

    /// Unbuffered, so nothing is lost when the process exits right after.
    private static func writeAll(_ text: String, to descriptor: Int32) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
            if written < 0 { if errno == EINTR { continue } else { return } }
            bytes = bytes.dropFirst(written)
        }
    }
}
