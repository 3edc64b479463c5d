import Foundation
import Synchronization
import Testing
@testable import Stages

/// The ranges every claim returned, in the order each claimer got them.
private final class Claims: Sendable {
    let lists: Mutex<[[Range<Int>]]>
    init(claimers: Int) { lists = Mutex([[Range<Int>]](repeating: [], count: claimers)) }
}

@Test func oneClaimerTakesTheChunksInOrder() {
    for (count, chunk) in [(0, 5), (1, 5), (10, 3), (12, 3), (7, 0), (7, -4), (7, 100), (7, Int.max)] {
        let q = ChunkQueue(count: count, chunk: chunk)
        var got: [Range<Int>] = []
        while let r = q.claim() { got.append(r) }
        let size = max(1, min(chunk, count))
        let expected = stride(from: 0, to: count, by: size).map { $0..<min(count, $0 + size) }
        #expect(got == expected, "count \(count), chunk \(chunk)")
        #expect(q.claim() == nil)
        q.reset()
        #expect(q.claim() == expected.first, "reset starts over")
    }
}

/// Workers claiming at once get disjoint ranges that together are exactly 0..<count, each at
/// most one chunk long, for any count, chunk size and number of workers, round after round.
@Test func workersClaimingAtOnceSplitTheRangeExactly() {
    for (count, chunk, workers) in [(100_003, 7, 4), (1_000, 1, 8), (5, 64, 6), (65_536 * 3 + 1, 65_536, 3), (0, 1, 3)] {
        let q = ChunkQueue(count: count, chunk: chunk)
        for _ in 0..<3 {
            let claims = Claims(claimers: workers)
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                var mine: [Range<Int>] = []
                while let r = q.claim() { mine.append(r) }
                claims.lists.withLock { $0[w] = mine }
            }
            let all = claims.lists.withLock { $0 }.flatMap { $0 }.sorted { $0.lowerBound < $1.lowerBound }
            var next = 0
            for r in all {
                #expect(r.lowerBound == next && !r.isEmpty && r.count <= max(1, chunk))
                next = r.upperBound
            }
            #expect(next == count, "count \(count), chunk \(chunk), workers \(workers)")
            for list in claims.lists.withLock({ $0 }) {
                #expect(list == list.sorted { $0.lowerBound < $1.lowerBound }, "each worker's ranges come in order")
            }
            q.reset()
        }
    }
}
