import AudioTranscode
import Basics
import Dispatch
import Synchronization
import Threads

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What a person and a program see of a batch.
///
/// - On a terminal: a live block redrawn in place about four times a second: an overall line (files
///   done of total, audio done of the total, speed as × realtime, bytes written, ETA) and a bar per
///   running file. Finished files print above it, one line each.
/// - Off a terminal: no redraws; one line per finished file, then the summary.
/// - `--json`: one object per file on stdout as it finishes, then a summary object.
/// - `--quiet`: only failures (as errors) and nothing else on stderr.
///
/// The totals behind the ETA are the inputs' real durations, read from their headers by a probe
/// thread while the batch runs (cheap for WAV); until every input is probed, no ETA is shown.
final class BatchMonitor: @unchecked Sendable {  // configuration is immutable; the rest is in `state`
    let console: Console
    let items: [BatchItem]
    let json: Bool
    let quiet: Bool
    let dryRun: Bool
    /// The live display is on: a terminal, and neither --quiet nor a dry run.
    let live: Bool
    let started = Timestamp()

    private struct Running {
        var name: String
        var secondsDone: Double = 0
        var totalSeconds: Double?
    }

    private struct State {
        var running: [Int: Running] = [:]
        var finished = 0
        var audioDone = 0.0
        var bytesDone: Int64 = 0
        /// Probed durations by item index; nil when not (yet) known.
        var durations: [Double?]
        var probed = 0
        /// Durations of files that turned out to need no work (skipped or failed).
        var durationsDropped = 0.0
        var planned: [(index: Int, report: JobReport)] = []
        var stopping = false
    }
    private let state: Mutex<State>
    private let redrawDone = DispatchSemaphore(value: 0)
    private let probeDone = DispatchSemaphore(value: 0)

    init(console: Console, items: [BatchItem], output: OutputOptionGroup, dryRun: Bool) {
        self.console = console
        self.items = items
        json = output.json
        quiet = output.quiet
        self.dryRun = dryRun
        live = console.isInteractive && !output.quiet && !dryRun
        state = Mutex(State(durations: Array(repeating: nil, count: items.count)))
    }

    // MARK: - Events from the workers

    func started(slot: Int, index: Int, item: BatchItem) {
        state.withLock { $0.running[slot] = Running(name: item.relativePath, totalSeconds: $0.durations[index]) }
    }

    func progress(slot: Int, _ progress: TranscodeProgress) {
        state.withLock { state in
            state.running[slot]?.secondsDone = progress.secondsDone
            if let total = progress.totalSeconds { state.running[slot]?.totalSeconds = total }
        }
    }

    func warning(_ message: String) {
        if !quiet { console.warning(message) }
    }

    func finished(slot: Int, index: Int, report: JobReport) {
        state.withLock { state in
            state.running[slot] = nil
            state.finished += 1
            if report.status == "uploaded" || report.status == "written" {
                state.audioDone += report.audioSeconds ?? 0
                state.bytesDone += report.bytes ?? 0
            } else if let duration = state.durations[index] {
                state.durationsDropped += duration
            }
            if dryRun { state.planned.append((index, report)) }
        }
        if dryRun { return }
        if json, let line = try? JSONLine.encode(report) { console.output(line) }
        if report.status == "failed" {
            console.error(report.error ?? "\(report.input): failed")
        } else if !quiet {
            console.info(BatchMonitor.line(for: report))
        }
    }

    /// `in.wav → s3://b/k.mp3: uploaded, 0:03 of audio, 48 KiB in one request, 0.1 s (30× realtime)`.
    static func line(for report: JobReport) -> String {
        switch report.status {
        case "skipped": "\(report.input) → \(report.destination): skipped, \(report.reason ?? "up to date")"
        case "planned": "\(report.input) → \(report.destination)"
        default: Summary.line(for: report)
        }
    }

    // MARK: - Dry run

    /// The plan, in SRC order: `in.wav → s3://b/k.mp3` lines (or JSON objects) on stdout.
    func printPlan() {
        let planned = state.withLock { $0.planned }.sorted { $0.index < $1.index }
        for (_, report) in planned {
            if json {
                if let line = try? JSONLine.encode(report) { console.output(line) }
            } else if report.status == "failed" {
                console.error(report.error ?? "\(report.input): failed")
            } else {
                console.output(BatchMonitor.line(for: report))
            }
        }
    }

    // MARK: - The live display

    /// Starts the probe and redraw threads (a terminal only).
    func start() {
        guard live else { return }
        let probe = OSThread { [self] in
            probeDurations()
            probeDone.signal()
        }
        probe.stackSize = 8 << 20
        probe.start()
        OSThread.detachNewThread { [self] in
            while !state.withLock({ $0.stopping }) {
                console.status(render())
                OSThread.sleep(forTimeInterval: 0.25)
            }
            redrawDone.signal()
        }
    }

    /// Stops the live display and erases it; the summary follows.
    func stop() {
        guard live else { return }
        state.withLock { $0.stopping = true }
        redrawDone.wait()
        probeDone.wait()
        console.clearStatus()
    }

    private func probeDurations() {
        for (index, item) in items.enumerated() {
            if state.withLock({ $0.stopping }) { return }
            var duration: Double?
            if case .file(let path) = item.input {
                duration = (try? FileSource(path: path)).flatMap { try? probe($0).duration }
            }
            state.withLock { state in
                state.durations[index] = duration
                state.probed += 1
            }
        }
    }

    /// The overall line, then one line per running file, each cut to the terminal's width.
    func render() -> String {
        let width = BatchMonitor.terminalWidth()
        return state.withLock { state -> String in
            let elapsed = Timestamp().timeIntervalSince(started)
            let inFlight = state.running.values.reduce(0) { $0 + $1.secondsDone }
            let processed = state.audioDone + inFlight
            let speed = elapsed > 1 ? processed / elapsed : 0
            var overall = "\(state.finished)/\(items.count) files · \(Summary.clock(processed))"
            // The ETA needs every input's duration; inputs whose header tells none (not audio, or not
            // a local file) are left out of the total and flagged with a +.
            var eta = "ETA …"
            if state.probed == items.count {
                let unknown = state.durations.contains { $0 == nil }
                let total = state.durations.reduce(0) { $0 + ($1 ?? 0) } - state.durationsDropped
                overall += " of \(Summary.clock(max(total, processed)))\(unknown ? "+" : "") audio"
                if speed > 0 { eta = "ETA " + Summary.clock(max(0, total - processed) / speed) + (unknown ? "+" : "") }
            } else {
                overall += " audio"
            }
            overall +=
                " · " + (speed > 0 ? "\(Int(speed))×" : "…×")
                + " realtime · \(Units.describe(bytes: state.bytesDone)) out · \(eta)"
            var lines = [String(overall.prefix(width))]
            for slot in state.running.keys.sorted() {
                let file = state.running[slot]!
                let fraction = file.totalSeconds.map { $0 > 0 ? min(1, file.secondsDone / $0) : 0 }
                let barWidth = 20
                let filled = Int((fraction ?? 0) * Double(barWidth))
                let bar =
                    "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: barWidth - filled) + "]"
                var line = "  \(bar) " + (fraction.map { String(Int($0 * 100)).leftPadded(3) + "%" } ?? "  ?%")
                line += " \(Summary.clock(file.secondsDone))"
                if let total = file.totalSeconds { line += "/\(Summary.clock(total))" }
                line += "  \(file.name)"
                lines.append(String(line.prefix(width)))
            }
            return lines.joined(separator: "\n")
        }
    }

    /// Columns of the terminal on stderr (80 when unknown), minus one so that no line wraps.
    static func terminalWidth() -> Int {
        var size = winsize()
        if ioctl(STDERR_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) - 1 }
        return 79
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
