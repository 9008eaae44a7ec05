#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// A point in wall-clock time: seconds since 1970-01-01T00:00:00Z (UTC).
///
/// The part of Foundation's `Date` this tool uses (the current time, differences in seconds,
/// ordering), with the same member names. Durations of work are measured with it too: they
/// are reported, never used for control flow that a clock step could break.
public struct Timestamp: Sendable, Hashable, Comparable {
    public var timeIntervalSince1970: Double

    public init(timeIntervalSince1970: Double) {
        self.timeIntervalSince1970 = timeIntervalSince1970
    }

    /// Now (`CLOCK_REALTIME`).
    public init() {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        timeIntervalSince1970 = Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }

    /// Seconds from `other` to this timestamp (negative when `other` is later).
    public func timeIntervalSince(_ other: Timestamp) -> Double {
        timeIntervalSince1970 - other.timeIntervalSince1970
    }

    /// Seconds from now to this timestamp (negative when it is past).
    public var timeIntervalSinceNow: Double { timeIntervalSince(Timestamp()) }

    public func addingTimeInterval(_ seconds: Double) -> Timestamp {
        Timestamp(timeIntervalSince1970: timeIntervalSince1970 + seconds)
    }

    public static func + (lhs: Timestamp, seconds: Double) -> Timestamp { lhs.addingTimeInterval(seconds) }
    public static func += (lhs: inout Timestamp, seconds: Double) { lhs = lhs.addingTimeInterval(seconds) }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
        lhs.timeIntervalSince1970 < rhs.timeIntervalSince1970
    }
}
