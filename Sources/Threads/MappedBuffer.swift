// Memory in an anonymous mapping of its own, beside the threads that share it: megabyte buffers
// (part buffers, a segment's audio) that must give their pages back to the system, which memory
// from malloc does not once glibc has raised its mmap threshold.
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `capacity` bytes mapped for this buffer alone: pages are committed only when written, and go
/// back to the system on `discard()` and when the buffer is freed.
public final class MappedBuffer: @unchecked Sendable {  // its owner says which thread writes it
    public let capacity: Int
    public let base: UnsafeMutableRawPointer
    private let mappedLength: Int
    private let pageSize: Int

    /// Nil when the system refuses the mapping (`errno` says why).
    public init?(capacity: Int) {
        let page = max(4096, Int(sysconf(Int32(_SC_PAGESIZE))))
        let length = max(page, (capacity + page - 1) / page * page)
        let address = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let address, address != UnsafeMutableRawPointer(bitPattern: -1) else { return nil }
        self.capacity = capacity
        base = address
        mappedLength = length
        pageSize = page
    }

    deinit { munmap(base, mappedLength) }

    /// Gives the pages back (they read as zeros when touched again); the mapping is kept.
    public func discard() { madvise(base, mappedLength, MADV_DONTNEED) }

    /// Gives back the whole pages before `offset` (a reader done with them, a writer still after them).
    public func discard(before offset: Int) {
        let length = min(offset, mappedLength) / pageSize * pageSize
        if length > 0 { madvise(base, length, MADV_DONTNEED) }
    }
}
