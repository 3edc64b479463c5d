import Foundation
import Synchronization

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

/// Consecutive ranges of `0..<count`, each handed to the first worker that asks, so that workers
/// of unequal speed (a busier core, a slower stretch of the data) run out of work together
/// instead of one idling while another finishes a fixed share. With one worker the ranges come
/// in order from 0, as a sequential loop in chunks would take them. `reset()` starts over (each
/// epoch); it must not race a `claim()`.
///
/// With `tailWorkers` > 1 the ranges shrink near the end (as OpenMP's guided schedule does): a
/// claim takes `chunk`, but at most a (2 × `tailWorkers`)th of what is left and at least
/// `minimumChunk`, so that the last ranges are short and the workers finish close together.
final class ChunkQueue: Sendable {
    let count: Int
    let chunk: Int
    /// The shortest range a shrinking claim takes (`chunk` when the ranges do not shrink).
    let minimumChunk: Int
    /// What is left is divided by twice this to size a claim near the end (0: never).
    private let tailDivisor: Int
    private let next = Atomic<Int>(0)

    /// `chunk` is clamped to `1...max(1, count)`, `minimumChunk` to `1...chunk`.
    init(count: Int, chunk: Int, tailWorkers: Int = 1, minimumChunk: Int = 1) {
        self.count = max(0, count)
        self.chunk = max(1, min(chunk, self.count))
        self.minimumChunk = tailWorkers > 1 ? max(1, min(minimumChunk, self.chunk)) : self.chunk
        tailDivisor = tailWorkers > 1 ? 2 * min(tailWorkers, 1 << 20) : 0
    }

    /// The next range no worker has taken yet (at most `chunk` long), or nil when none is left.
    func claim() -> Range<Int>? {
        guard tailDivisor > 0 else {
            guard next.load(ordering: .relaxed) < count else { return nil }
            // Taken by adding to the counter. Only claims that saw it below `count` add, so it
            // ends below `count` + workers × `chunk` ≤ (1 + workers) × `count`: no overflow for
            // any count an array can have.
            let taken = next.wrappingAdd(chunk, ordering: .relaxed).oldValue
            guard taken < count else { return nil }
            return taken..<(taken + min(chunk, count - taken))
        }
        // The size depends on what is left, so the range is taken by compare-and-exchange.
        var start = next.load(ordering: .relaxed)
        while start < count {
            let left = count - start
            let size = min(left, max(minimumChunk, min(chunk, left / tailDivisor)))
            let (exchanged, seen) = next.compareExchange(expected: start, desired: start + size, ordering: .relaxed)
            if exchanged { return start..<(start + size) }
            start = seen
        }
        return nil
    }

    func reset() { next.store(0, ordering: .relaxed) }
}

/// A fixed set of worker threads that run rounds of work (the trainer: one round per epoch).
///
/// The threads are created once, when the pool is made, and end at `shutdown()`, instead of
/// once per worker per epoch. Each round runs `body(round, worker)` on every worker; the caller
/// waits for the round with `waitForRound(timeout:)` (and can report progress between waits).
/// Threads rather than Swift tasks: the workers run tight, long, blocking loops, which the
/// cooperative pool is not meant for, and their count must be exactly the configured one.
final class WorkerPool: Sendable {
    private let start: [DispatchSemaphore]
    private let running = DispatchGroup()
    private let round = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)
    private let body: @Sendable (_ round: Int, _ worker: Int) -> Void

    init(workers: Int, body: @escaping @Sendable (_ round: Int, _ worker: Int) -> Void) {
        start = (0..<max(1, workers)).map { _ in DispatchSemaphore(value: 0) }
        self.body = body
        for worker in start.indices {
            let thread = Thread { [self] in self.serve(worker) }
            thread.name = "w2v-pipe worker \(worker)"
            thread.start()
        }
    }

    private func serve(_ worker: Int) {
        while true {
            start[worker].wait()
            if stopping.load(ordering: .acquiring) { return }
            body(round.load(ordering: .acquiring), worker)
            running.leave()
        }
    }

    /// Starts round `r` on every worker.
    func startRound(_ r: Int) {
        round.store(r, ordering: .releasing)
        for s in start {
            running.enter()
            s.signal()
        }
    }

    /// Waits for the current round; `.timedOut` if it is still running after `timeout`.
    func waitForRound(timeout: DispatchTime) -> DispatchTimeoutResult { running.wait(timeout: timeout) }

    /// Ends the threads (after the current round, if one runs).
    func shutdown() {
        running.wait()
        stopping.store(true, ordering: .releasing)
        for s in start { s.signal() }
    }
}

/// Buffers going round between two threads: one side takes `free` items, fills them and sends
/// them; the other takes them in order with `next`, uses them and recycles them. A fixed set of
/// items, so memory stays fixed however much passes through. Either side can `fail` (the other
/// then gets nil), the filling side `close`s when done, the using side can `stop`; the side that
/// owns the background thread marks its exit so the other can wait for it before freeing items.
/// `@unchecked Sendable`: every field is touched under `condition`'s lock.
final class HandOff<Item>: @unchecked Sendable {
    private let condition = NSCondition()
    private var free: [Item]
    private var full: [Item] = []
    private var closed = false
    private var stopped = false
    private var threadExited = false
    private var error: Error?

    init(_ items: [Item]) { free = items }

    private func locked<R>(_ body: () -> R) -> R {
        condition.lock()
        defer { condition.broadcast(); condition.unlock() }
        return body()
    }

    /// The first failure either side reported.
    var failure: Error? { locked { error } }

    /// Filling side: a free item, waiting for one; nil once the other side stopped or a side failed.
    func takeFree() -> Item? {
        locked {
            while free.isEmpty && !stopped && error == nil { condition.wait() }
            return stopped || error != nil ? nil : free.removeLast()
        }
    }

    func send(_ item: Item) { locked { full.append(item) } }

    /// Filling side: nothing more will be sent.
    func close() { locked { closed = true } }

    /// Using side: the next item in the order sent; nil when closed and drained, stopped, or failed.
    func next() -> Item? {
        locked {
            while full.isEmpty && !closed && !stopped && error == nil { condition.wait() }
            return stopped || error != nil || full.isEmpty ? nil : full.removeFirst()
        }
    }

    func recycle(_ item: Item) { locked { free.append(item) } }

    /// Either side: records the first failure; both sides then stop getting items.
    func fail(_ e: Error) { locked { if error == nil { error = e } } }

    /// Using side: stop; the filling side's `takeFree` returns nil from now on.
    func stop() { locked { stopped = true } }

    /// The background thread (either side) calls this as its last act.
    func markThreadExited() { locked { threadExited = true } }

    func waitForThreadExit() {
        locked { while !threadExited { condition.wait() } }
    }

    /// The items not handed out (free and unused), once the background thread has exited.
    func remaining() -> [Item] { locked { free + full } }
}

extension Parallel {
    /// Runs `first` on the calling thread and `second` on a new thread at the same time, and
    /// returns both results once both have ended (a thrown error is rethrown after both ended,
    /// `first`'s before `second`'s). With one core the two run one after the other.
    static func both<A, B>(_ first: () throws -> A, _ second: @escaping () throws -> B) throws -> (A, B) {
        guard ProcessInfo.processInfo.activeProcessorCount > 1 else { return (try first(), try second()) }
        let other = BackgroundResult(second)
        Thread { other.run() }.start()
        let a = Result { try first() }
        let b = other.wait()
        return (try a.get(), try b.get())
    }
}

/// The thread half of `Parallel.both`. `@unchecked Sendable`: `body` runs on that thread only,
/// and `result` is set before `done` is signalled and read only after waiting on it.
private final class BackgroundResult<Value>: @unchecked Sendable {
    private let body: () throws -> Value
    private var result: Result<Value, Error>?
    private let done = DispatchSemaphore(value: 0)

    init(_ body: @escaping () throws -> Value) { self.body = body }

    func run() {
        result = Result { try body() }
        done.signal()
    }

    func wait() -> Result<Value, Error> {
        done.wait()
        return result ?? .failure(CancellationError())
    }
}
