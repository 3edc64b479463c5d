import Foundation

/// Row-major points (n × dimension) with exact, thread-independent distance rows: every
/// distance is computed the same way whichever worker computes it, so results that depend on
/// them are the same for any thread count.
struct PointSet: Sendable {
    let count: Int
    let dimension: Int
    let values: [Float]
    let squaredNorms: [Float]

    init(values: [Float], dimension: Int) {
        let count = dimension == 0 ? 0 : values.count / dimension
        var norms = [Float](repeating: 0, count: count)
        values.withUnsafeBufferPointer { v in
            for i in 0..<count { norms[i] = PointSet.dot(v.baseAddress! + i * dimension, v.baseAddress! + i * dimension, dimension) }
        }
        self.dimension = dimension
        self.count = count
        self.values = values
        self.squaredNorms = norms
    }

    /// a·b over `n` floats, in a fixed order (16 lanes, then the tail).
    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = SIMD16<Float>()
        var k = 0
        let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
        while k + 16 <= n {
            acc += ra.loadUnaligned(fromByteOffset: k * 4, as: SIMD16<Float>.self) * rb.loadUnaligned(fromByteOffset: k * 4, as: SIMD16<Float>.self)
            k += 16
        }
        var s = acc.sum()
        while k < n { s += a[k] * b[k]; k += 1 }
        return s
    }

    /// Squared euclidean distances from point `i` to every point, into `out` (count floats).
    func distanceRow(_ i: Int, into out: UnsafeMutablePointer<Float>) {
        values.withUnsafeBufferPointer { v in
            let base = v.baseAddress!
            let a = base + i * dimension
            let ni = squaredNorms[i]
            for j in 0..<count {
                out[j] = max(0, ni + squaredNorms[j] - 2 * PointSet.dot(a, base + j * dimension, dimension))
            }
            out[i] = 0
        }
    }
}

/// The k smallest (distance, index) pairs of a row, nearest first; ties go to the lower index.
/// A bounded max-heap: O(n log k).
struct NearestSelector {
    private(set) var distances: [Float] = []
    private(set) var indices: [Int32] = []
    let k: Int

    init(k: Int) {
        self.k = k
        distances.reserveCapacity(k)
        indices.reserveCapacity(k)
    }

    @inline(__always)
    private func above(_ a: Int, _ b: Int) -> Bool {
        distances[a] > distances[b] || (distances[a] == distances[b] && indices[a] > indices[b])
    }

    mutating func reset() { distances.removeAll(keepingCapacity: true); indices.removeAll(keepingCapacity: true) }

    mutating func offer(_ d: Float, _ j: Int32) {
        if distances.count < k {
            distances.append(d); indices.append(j)
            var c = distances.count - 1
            while c > 0 {
                let p = (c - 1) / 2
                guard above(c, p) else { break }
                distances.swapAt(c, p); indices.swapAt(c, p); c = p
            }
            return
        }
        guard k > 0, d < distances[0] || (d == distances[0] && j < indices[0]) else { return }
        distances[0] = d; indices[0] = j
        var p = 0
        while true {
            let l = 2 * p + 1, r = l + 1
            var m = p
            if l < k && above(l, m) { m = l }
            if r < k && above(r, m) { m = r }
            if m == p { break }
            distances.swapAt(p, m); indices.swapAt(p, m); p = m
        }
    }

    /// The selection, nearest first.
    func sorted() -> [(distance: Float, index: Int32)] {
        zip(distances, indices).map { (distance: $0, index: $1) }
            .sorted { $0.distance < $1.distance || ($0.distance == $1.distance && $0.index < $1.index) }
    }
}

/// How faithful a 2-D map is to the space it shows.
public enum MapQuality {
    /// Trustworthiness (Venna & Kaski 2001), as scikit-learn's `trustworthiness` computes it:
    /// 1 − 2/(n·k·(2n − 3k − 1)) · Σᵢ Σ_{j ∈ Uᵢ} (r(i, j) − k), where Uᵢ are the k nearest
    /// neighbours of i on the map that are not among its k nearest in the original space, and
    /// r(i, j) is j's rank among i's neighbours in the original space (the nearest is 1).
    /// 1 = every map neighbour is a true neighbour. Needs n > 2k + 1 or so to be meaningful;
    /// returns nil when the normaliser is not positive.
    public static func trustworthiness(points: [Float], dimension: Int, map: [Double], k: Int, threads: Int) -> Double? {
        let space = PointSet(values: points, dimension: dimension)
        return trustworthiness(space, map: map, k: k, threads: threads)
    }

    static func trustworthiness(_ space: PointSet, map: [Double], k: Int, threads: Int) -> Double? {
        let n = space.count
        guard k >= 1, n > k, map.count == 2 * n else { return nil }
        let normaliser = Double(n) * Double(k) * (2 * Double(n) - 3 * Double(k) - 1)
        guard normaliser > 0 else { return nil }
        let chunks = min(n, max(1, threads) * 8)
        let partial = WorkerResults<Double>(count: chunks)
        Parallel.forEach(chunks, threads: threads) { c in
            let lo = n * c / chunks, hi = n * (c + 1) / chunks
            var row = [Float](repeating: 0, count: n)
            var high = NearestSelector(k: k), low = NearestSelector(k: k)
            var sum = 0.0
            for i in lo..<hi {
                row.withUnsafeMutableBufferPointer { space.distanceRow(i, into: $0.baseAddress!) }
                high.reset(); low.reset()
                let xi = map[2 * i], yi = map[2 * i + 1]
                for j in 0..<n where j != i {
                    high.offer(row[j], Int32(j))
                    let dx = map[2 * j] - xi, dy = map[2 * j + 1] - yi
                    low.offer(Float(dx * dx + dy * dy), Int32(j))
                }
                let trueNeighbours = Set(high.indices)
                for j in low.indices where !trueNeighbours.contains(j) {
                    let dj = row[Int(j)]
                    var rank = 1
                    for m in 0..<n where m != i && (row[m] < dj || (row[m] == dj && m < Int(j))) { rank += 1 }
                    sum += Double(rank - k)
                }
            }
            partial.store(c, sum)
        }
        let total = partial.collected().reduce(0.0) { $0 + ($1 ?? 0) }
        return 1 - 2 / normaliser * total
    }
}
