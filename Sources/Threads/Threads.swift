// Dedicated OS threads and a condition variable, on pthreads: what Foundation's Thread and
// NSCondition gave, without Foundation, whose static link brings ICU (37 MB) into the release
// binary. Blocking work (curl transfers, the encoder) runs on these, never on Swift's cooperative pool.
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A thread of its own for a block; detached: it ends when the block returns.
public final class OSThread: @unchecked Sendable {
    // @unchecked: stackSize is set before start() and only read by it.
    /// Bytes; 0 is the system's default (RLIMIT_STACK, as for any pthread).
    public var stackSize = 0
    private let block: @Sendable () -> Void

    public init(block: @escaping @Sendable () -> Void) {
        self.block = block
    }

    public func start() {
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        if stackSize > 0 { pthread_attr_setstacksize(&attributes, stackSize) }
        let context = Unmanaged.passRetained(self).toOpaque()
        #if canImport(Glibc)
            var thread = pthread_t()
        #else
            var thread: pthread_t?
        #endif
        let status = pthread_create(
            &thread, &attributes,
            { context in
                let this = Unmanaged<OSThread>.fromOpaque(context!).takeRetainedValue()
                this.block()
                return nil
            }, context)
        precondition(status == 0, "pthread_create failed: \(status)")
    }

    public static func detachNewThread(_ block: @escaping @Sendable () -> Void) {
        OSThread(block: block).start()
    }

    /// Blocks the calling thread for `seconds` (not a Task: this is for dedicated threads).
    public static func sleep(forTimeInterval seconds: Double) {
        guard seconds > 0 else { return }
        var request = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - seconds.rounded(.down)) * 1e9))
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
    }
}

/// A mutex and a condition variable, used as NSCondition is: lock, wait in a loop, broadcast.
public final class Condition: @unchecked Sendable {
    // @unchecked: pthread's own synchronisation.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    public init() {
        pthread_mutex_init(mutex, nil)
        // Timed waits measure on the monotonic clock: setting the wall clock does not move them.
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    public func lock() { pthread_mutex_lock(mutex) }
    public func unlock() { pthread_mutex_unlock(mutex) }
    public func withLock<T>(_ body: () throws -> T) rethrows -> T {
        lock()
        defer { unlock() }
        return try body()
    }
    /// Releases the lock while waiting; holds it again on return (which may be spurious).
    public func wait() { pthread_cond_wait(condition, mutex) }
    /// `wait()` for at most `seconds`: returns on a signal, a spurious wake-up or when the time has
    /// passed, so callers loop on their own condition and the time left.
    public func wait(seconds: Double) {
        guard seconds > 0 else { return }
        var end = timespec()
        clock_gettime(CLOCK_MONOTONIC, &end)
        let whole = seconds.rounded(.down)
        // Seconds beyond any real wait (a deadline days away) are capped rather than overflowing.
        end.tv_sec += Int(min(whole, 1e9))
        end.tv_nsec += Int((seconds - whole) * 1e9)
        if end.tv_nsec >= 1_000_000_000 {
            end.tv_sec += 1
            end.tv_nsec -= 1_000_000_000
        }
        pthread_cond_timedwait(condition, mutex, &end)
    }
    public func signal() { pthread_cond_signal(condition) }
    public func broadcast() { pthread_cond_broadcast(condition) }
}

/// The processors this process may run on (its affinity mask, what `sched_getaffinity` and `nproc`
/// count), read from /proc/self/status ("Cpus_allowed:": Glibc declares sched_getaffinity only for
/// _GNU_SOURCE C code); the processors online where that is not there. At least 1.
public func availableProcessorCount() -> Int {
    if let file = fopen("/proc/self/status", "r") {
        defer { fclose(file) }
        var line: UnsafeMutablePointer<CChar>?
        var capacity = 0
        defer { free(line) }
        while getline(&line, &capacity, file) > 0, let line {
            let text = String(cString: line)
            guard text.hasPrefix("Cpus_allowed:") else { continue }
            // A hexadecimal mask in comma-separated 32-bit groups: "ff,ffffffff".
            let count = text.dropFirst("Cpus_allowed:".count).reduce(0) { count, character in
                count + (character.hexDigitValue?.nonzeroBitCount ?? 0)
            }
            if count > 0 { return count }
        }
    }
    return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
}
