import Dispatch
import HTTPClient
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Turns SIGINT, SIGTERM and SIGHUP into a cancellation: the transcoder stops between frames, curl
/// transfers in flight end, the sink aborts (removing a partial file, aborting a multipart upload),
/// and the command exits with 128 + the signal's number (130 for SIGINT, 143 for SIGTERM).
///
/// The signals are ignored at the process level and read through dispatch sources, so the handler
/// runs on an ordinary thread and may take locks and allocate. SIGPIPE is ignored too: a closed
/// pipe then fails the write (EPIPE), which the command reports as an I/O error (exit 74).
final class SignalTrap: @unchecked Sendable {  // `sources` is set once, in init
    static let handled: [Int32] = [SIGINT, SIGTERM, SIGHUP]

    let cancellation = CancellationFlag()
    private let first = FirstSignal()
    /// Kept so the dispatch sources stay alive for the whole run.
    private let sources: [DispatchSourceSignal]

    private final class FirstSignal: Sendable {
        let number = Mutex<Int32?>(nil)
    }

    init() {
        // A reader of standard output that goes away (`s3transcode in.wav - | head -c 100`) must
        // make the write fail with EPIPE (exit 74, one line), not kill the process silently.
        ignore(SIGPIPE)
        let queue = DispatchQueue(label: "s3transcode.signals")
        var installed: [DispatchSourceSignal] = []
        for number in SignalTrap.handled {
            ignore(number)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler { [first, cancellation] in
                // The first signal decides the exit code; a second one changes nothing.
                first.number.withLock { if $0 == nil { $0 = number } }
                cancellation.cancel()
            }
            source.resume()
            installed.append(source)
        }
        sources = installed
    }

    /// The first signal received, if any.
    var signal: Int32? { first.number.withLock { $0 } }

    var isCancelled: Bool { cancellation.isCancelled }

    /// The conventional exit code for the signal received: 128 + its number.
    var exitCode: Int32? { signal.map { 128 + $0 } }
}

/// `signal(number, SIG_IGN)` from the C library, Glibc's or Darwin's (inside `SignalTrap` the name
/// `signal` is its property).
private func ignore(_ number: Int32) {
    _ = signal(number, SIG_IGN)
}
