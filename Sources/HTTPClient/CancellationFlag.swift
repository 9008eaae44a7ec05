import Synchronization

/// A flag that stops transfers in flight: set it (from a signal handler's thread, say) and every
/// transfer of a `CurlTransport` that holds it ends within about a second with
/// `TransportError.Kind.cancelled`, and new transfers fail at once.
public final class CancellationFlag: Sendable {
    private let flag = Atomic<Bool>(false)

    public init() {}

    public var isCancelled: Bool { flag.load(ordering: .acquiring) }

    public func cancel() { flag.store(true, ordering: .releasing) }

    /// Clears the flag, for a process that runs one job after another on the same transport (the
    /// Lambda runtime: a job stopped at its invocation's deadline must not stop the next one).
    public func reset() { flag.store(false, ordering: .releasing) }
}

/// A transport that a `CancellationFlag` stops, and that can still send the cleanup a cancelled run
/// owes: after SIGINT the uploader must still AbortMultipartUpload, or the parts stay billed.
public protocol CancellableTransport: HTTPTransport {
    /// Sends `request` whether or not the cancellation flag is set, and the flag does not stop it.
    func sendIgnoringCancellation(_ request: HTTPRequest, body: UnsafeRawBufferPointer?) throws -> HTTPResponse
}
