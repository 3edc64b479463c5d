#if canImport(Glibc)
import Glibc
#endif

/// Zero-filled anonymous memory for the counter's large buffers, asking for transparent huge
/// pages (`MADV_HUGEPAGE`): the dense table is read and written at random, and with 2 MB pages
/// its accesses miss the TLB far less, and filling any of these buffers faults 512 times less.
/// Pages are only backed once touched. Freed when dropped.
/// `@unchecked Sendable`: it is a block of raw memory; who writes which part, and when, is the
/// owner's discipline (one worker, or disjoint ranges; see the users).
final class LargeBuffer: @unchecked Sendable {
    private let base: UnsafeMutableRawPointer
    private let mappedBytes: Int
    /// The usable memory, aligned to 2 MB.
    let pointer: UnsafeMutableRawPointer
    let bytes: Int

    static let hugePage = 2 << 20

    init?(bytes: Int, hugePages: Bool = false) {
        let requested = max(1, bytes)
        let (mapped, overflow) = requested.addingReportingOverflow(Self.hugePage)
        guard !overflow, let p = mmap(nil, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              p != MAP_FAILED else { return nil }
        base = p
        mappedBytes = mapped
        let aligned = (Int(bitPattern: p) + Self.hugePage - 1) / Self.hugePage * Self.hugePage
        guard let start = UnsafeMutableRawPointer(bitPattern: aligned) else {
            munmap(p, mapped)
            return nil
        }
        pointer = start
        self.bytes = requested
        if hugePages, requested >= Self.hugePage { madvise(start, requested, Int32(MADV_HUGEPAGE)) }
    }

    deinit { munmap(base, mappedBytes) }

    func typed<T>(_: T.Type) -> UnsafeMutablePointer<T> {
        pointer.bindMemory(to: T.self, capacity: bytes / MemoryLayout<T>.stride)
    }


    /// Gives the whole pages inside `range` (byte offsets) back to the system; they read as
    /// zeros afterwards.
    func release(_ range: Range<Int>) {
        let page = 4096
        let first = (range.lowerBound + page - 1) / page * page, last = range.upperBound / page * page
        if last > first { madvise(pointer + first, last - first, Int32(MADV_DONTNEED)) }
    }
}
