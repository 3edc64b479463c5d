/// An array of fixed-size values inside a memory-mapped artifact, read in place (no copy).
///
/// It is a bounds-checked `RandomAccessCollection`; kernels that need the raw memory get it only
/// for the duration of `withUnsafeBufferPointer`. The array keeps the mapping alive, so it stays
/// valid however long it is kept, even after the artifact struct that produced it is gone.
///
/// `@unchecked Sendable`: the memory is a read-only (`PROT_READ`) mapping owned by `owner`,
/// which this array retains; nothing can write to it while any copy of the array exists.
public struct MappedArray<Element: BitwiseCopyable>: RandomAccessCollection, @unchecked Sendable {
    private let buffer: UnsafeBufferPointer<Element>
    private let owner: AnyObject?

    /// `buffer` must stay valid and unchanged while `owner` lives.
    init(_ buffer: UnsafeBufferPointer<Element>, owner: AnyObject?) {
        self.buffer = buffer
        self.owner = owner
    }

    /// An empty array.
    public init() { self.init(UnsafeBufferPointer(start: nil, count: 0), owner: nil) }

    /// A copy of `values` in memory of its own (e.g. a corpus built in a test).
    public init(_ values: [Element]) {
        let box = OwnedBuffer(values)
        self.init(box.buffer, owner: box)
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { buffer.count }
    public var count: Int { buffer.count }

    @inline(__always)
    public subscript(i: Int) -> Element { buffer[i] }

    /// The elements as a buffer, valid only inside `body`.
    @inline(__always)
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Element>) throws -> R) rethrows -> R {
        try withExtendedLifetime(owner) { try body(buffer) }
    }

    public func withContiguousStorageIfAvailable<R>(_ body: (UnsafeBufferPointer<Element>) throws -> R) rethrows -> R? {
        try withExtendedLifetime(owner) { try body(buffer) }
    }
}

/// Heap memory holding a copy of an array, freed with the last `MappedArray` that uses it.
private final class OwnedBuffer<Element: BitwiseCopyable> {
    private let base: UnsafeMutablePointer<Element>
    let buffer: UnsafeBufferPointer<Element>
    init(_ values: [Element]) {
        let base = UnsafeMutablePointer<Element>.allocate(capacity: max(1, values.count))
        values.withUnsafeBufferPointer { v in
            if let source = v.baseAddress { base.initialize(from: source, count: v.count) }
        }
        self.base = base
        buffer = UnsafeBufferPointer(start: base, count: values.count)
    }
    deinit { base.deallocate() }
}
