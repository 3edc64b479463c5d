import Foundation

/// A pointer handed to parallel workers inside one scoped call (`withUnsafe…` or a buffer the
/// caller owns until the workers have joined).
///
/// `@unchecked Sendable` because the compiler cannot see the discipline that makes the sharing
/// safe, which every use must keep: the memory outlives the parallel loop that uses it (the
/// loop joins before the scope that made the pointer ends), workers only read it, or each worker
/// writes only the indices it owns (disjoint ranges), and nothing writes while others read the
/// same element. It never escapes the call that created it.
struct WorkerPointer<Element>: @unchecked Sendable {
    let base: UnsafeMutablePointer<Element>
    init(_ base: UnsafeMutablePointer<Element>) { self.base = base }
    init(_ base: UnsafePointer<Element>) { self.base = UnsafeMutablePointer(mutating: base) }
    subscript(i: Int) -> Element {
        get { base[i] }
        nonmutating set { base[i] = newValue }
    }
    static func + (p: WorkerPointer, offset: Int) -> UnsafeMutablePointer<Element> { p.base + offset }
}

enum Parallel {
    /// Runs `body(0..<iterations)` on up to `threads` cores and returns when all are done
    /// (sequentially on the calling thread when `threads <= 1`).
    static func forEach(_ iterations: Int, threads: Int, _ body: @Sendable (Int) -> Void) {
        if threads <= 1 || iterations <= 1 {
            for i in 0..<iterations { body(i) }
        } else {
            DispatchQueue.concurrentPerform(iterations: iterations, execute: body)
        }
    }
}

/// One result slot per parallel iteration, filled by the workers and read after they joined.
///
/// `@unchecked Sendable` because its values (e.g. a worker's own word table) need not be
/// Sendable: each is built by one worker, handed over under the lock, and never touched by that
/// worker again; the caller reads them only after the parallel loop returned.
final class WorkerResults<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [Value?]

    init(count: Int) { slots = [Value?](repeating: nil, count: count) }

    func store(_ index: Int, _ value: Value) {
        lock.lock()
        slots[index] = value
        lock.unlock()
    }

    /// The slots, once every worker has returned.
    func collected() -> [Value?] {
        lock.lock()
        defer { lock.unlock() }
        return slots
    }
}
