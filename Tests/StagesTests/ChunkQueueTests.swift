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
    for (count, chunk, workers) in [(100_003, 7, 4), (1_000, 1, 8), (5, 64, 6), (65_536 * 3 + 1, 65_536, 3), (0, 1, 3)]
        + [(1_000_003, 65_536, 2), (300_001, 4_096, 5)] {
      for shrinking in [false, true] {
        let q = ChunkQueue(count: count, chunk: chunk, tailWorkers: shrinking ? workers : 1, minimumChunk: 3)
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
            #expect(next == count, "count \(count), chunk \(chunk), workers \(workers), shrinking \(shrinking)")
            for list in claims.lists.withLock({ $0 }) {
                #expect(list == list.sorted { $0.lowerBound < $1.lowerBound }, "each worker's ranges come in order")
            }
            q.reset()
        }
      }
    }
}

/// Shrinking near the end: a claim takes `chunk` while a (2 × workers)th of what is left is at
/// least that, then that share, never below the minimum (but the very last range), so the ranges
/// only get shorter and the last ones are far shorter than `chunk`.
@Test func shrinkingClaimsGetShorterTowardTheEnd() {
    for (count, chunk, workers, minimum) in [(17_000_000, 131_072, 2, 8_192), (1_000_000, 15_625, 2, 8_192),
                                             (100_000, 1_000, 8, 10), (5_000, 131_072, 2, 8_192), (50, 10, 3, 1)] {
        let q = ChunkQueue(count: count, chunk: chunk, tailWorkers: workers, minimumChunk: minimum)
        var got: [Range<Int>] = []
        while let r = q.claim() { got.append(r) }
        var start = 0
        for r in got {
            let left = count - start
            let c = min(chunk, count), m = min(minimum, c)
            let expected = min(left, max(m, min(c, left / (2 * workers))))
            #expect(r.lowerBound == start && r.count == expected, "count \(count) at \(start): \(r.count), expected \(expected)")
            start = r.upperBound
        }
        #expect(start == count)
        #expect(zip(got, got.dropFirst()).allSatisfy { $0.count >= $1.count }, "never longer than the one before")
        if count / chunk >= 4 * workers {
            #expect(got.first?.count == chunk && got.dropLast().last!.count <= max(minimum, chunk / 2),
                    "count \(count): short ranges at the end")
        }
    }
    // Worked by hand: 50 items, chunk 10, 3 workers (a 6th of what is left), minimum 1.
    let small = ChunkQueue(count: 50, chunk: 10, tailWorkers: 3, minimumChunk: 1)
    var smallSizes: [Int] = []
    while let r = small.claim() { smallSizes.append(r.count) }
    #expect(smallSizes == [8, 7, 5, 5, 4, 3, 3, 2, 2] + [Int](repeating: 1, count: 11))
    // One worker: no shrinking, whatever the minimum.
    let q = ChunkQueue(count: 100, chunk: 30, tailWorkers: 1, minimumChunk: 1)
    var sizes: [Int] = []
    while let r = q.claim() { sizes.append(r.count) }
    #expect(sizes == [30, 30, 30, 10])
}
