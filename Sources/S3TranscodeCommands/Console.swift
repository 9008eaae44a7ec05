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

    /// Guards every write; holds how many lines of live status are drawn (0: none).
    private let lock = Mutex<Int>(0)
    /// Whether stderr is a terminal: live progress is redrawn in place only there.
    let isInteractive = isatty(STDERR_FILENO) == 1

    /// A line for people (progress summaries, `-v` request lines, warnings).
    func info(_ line: String) { write(line + "\n", to: STDERR_FILENO) }

    func error(_ line: String) { write("s3transcode: error: " + line + "\n", to: STDERR_FILENO) }

    func warning(_ line: String) { write("s3transcode: warning: " + line + "\n", to: STDERR_FILENO) }

    /// Data for programs: JSON lines on stdout.
    func output(_ line: String) {
        lock.withLock { _ in Console.writeAll(line + "\n", to: STDOUT_FILENO) }
    }

    /// Redraws the live status in place (a terminal only; elsewhere it is not drawn at all). It may
    /// span several lines (`batch` draws one per running file); each must fit the terminal's width,
    /// or the wrapped remainder is not erased by the next redraw.
    func status(_ text: String) {
        guard isInteractive else { return }
        let lineCount = text.reduce(1) { $1 == "\n" ? $0 + 1 : $0 }
        lock.withLock { drawn in
            Console.writeAll(Console.erase(drawn) + text, to: STDERR_FILENO)
            drawn = lineCount
        }
    }

    /// Clears the live status so that ordinary lines start at column 0.
    func clearStatus() {
        lock.withLock { drawn in
            guard drawn > 0 else { return }
            Console.writeAll(Console.erase(drawn), to: STDERR_FILENO)
            drawn = 0
        }
    }

    /// Ordinary lines go above the live status: it is erased, the text written, and the next
    /// `status` call draws it again below.
    private func write(_ text: String, to descriptor: Int32) {
        lock.withLock { drawn in
            if drawn > 0 {
                Console.writeAll(Console.erase(drawn), to: STDERR_FILENO)
                drawn = 0
            }
            Console.writeAll(text, to: descriptor)
        }
    }

    /// From the last line of a block of `lines` drawn lines: back to its first column, then clear
    /// to the end of the screen.
    private static func erase(_ lines: Int) -> String {
        guard lines > 0 else { return "" }
        return "\r" + String(repeating: "\u{1B}[1A", count: lines - 1) + "\u{1B}[J"
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
