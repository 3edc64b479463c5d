import CLinearAlgebra
import Foundation

/// How t-SNE starts.
public enum MapInitialization: String, CaseIterable, Sendable {
    /// The first two principal components, scaled to a standard deviation of 1e-4 (as
    /// scikit-learn and openTSNE do): deterministic and keeps the global layout.
    case pca
    /// Gaussian noise of standard deviation 1e-4 from `seed`.
    case random
}

public struct TSNESettings: Sendable {
    public var perplexity = 30.0
    public var iterations = 1000
    public var exaggeration = 12.0
    public var exaggerationIterations = 250
    /// nil: scikit-learn's "auto", max(n / exaggeration / 4, 50).
    public var learningRate: Double? = nil
    public var theta = 0.5
    public var initialization = MapInitialization.pca
    public var seed: UInt64 = 1
    public var threads = 1
    public init() {}
}

public struct TSNEResult: Sendable {
    /// x, y per point.
    public var coordinates: [Double]
    /// (iteration, KL divergence) every `klInterval` iterations and at the end.
    public var divergence: [(iteration: Int, kl: Double)]
    public var learningRate: Double
}

public enum MapError: Error, CustomStringConvertible {
    case invalid(String)
    public var description: String { switch self { case .invalid(let m): return m } }
}

/// Barnes–Hut t-SNE (van der Maaten 2014) with scikit-learn's optimiser: sparse input
/// affinities from the 3·perplexity nearest neighbours (exact), a quadtree for the repulsive
/// forces, gradient descent with momentum and per-coordinate gains, early exaggeration.
/// The result depends on the inputs and settings only, not on the thread count: every point's
/// forces are summed in a fixed order and the global sums in index order.
public enum TSNE {
    static let klInterval = 50

    public static func embed(points: [Float], dimension: Int, settings s: TSNESettings,
                             report: (Double, String) -> Void = { _, _ in },
                             checkCancelled: () throws -> Void = {}) throws -> TSNEResult {
        let space = PointSet(values: points, dimension: dimension)
        let n = space.count
        guard n >= 4 else { throw MapError.invalid("t-SNE needs at least 4 words, got \(n)") }
        guard s.perplexity < Double(n - 1) else {
            throw MapError.invalid("perplexity \(s.perplexity) needs more than \(Int(s.perplexity) + 1) words, got \(n); lower perplexity or raise words")
        }
        let k = min(n - 1, Int(3 * s.perplexity + 1))
        report(0, "nearest neighbours (k = \(k))")
        let p = affinities(space, neighbours: k, perplexity: s.perplexity, threads: s.threads)
        try checkCancelled()
        var y: [Double]
        switch s.initialization {
        case .pca:
            y = try principalComponents(space)
            let mean = (0..<n).reduce(0.0) { $0 + y[2 * $1] } / Double(n)
            let sd = sqrt((0..<n).reduce(0.0) { $0 + (y[2 * $1] - mean) * (y[2 * $1] - mean) } / Double(n))
            let scale = sd > 0 ? 1e-4 / sd : 1
            for i in y.indices { y[i] *= scale }
        case .random:
            y = PPMISVD.gaussian(2 * n, seed: s.seed).map { 1e-4 * Double($0) }
        }
        let rate = s.learningRate ?? max(Double(n) / s.exaggeration / 4, 50)
        var update = [Double](repeating: 0, count: 2 * n)
        var gains = [Double](repeating: 1, count: 2 * n)
        var gradient = [Double](repeating: 0, count: 2 * n)
        var workspace = GradientWorkspace(count: n)
        var divergence: [(Int, Double)] = []
        for iteration in 0..<s.iterations {
            let early = iteration < s.exaggerationIterations
            if iteration == s.exaggerationIterations && iteration > 0 {
                // A new phase starts afresh, as scikit-learn's optimiser does: no momentum from
                // the exaggerated steps, gains back to 1.
                for d in 0..<(2 * n) { update[d] = 0; gains[d] = 1 }
            }
            let momentum = early ? 0.5 : 0.8
            let wantKL = (iteration + 1) % klInterval == 0 || iteration + 1 == s.iterations
            let kl = klGradient(y, p, exaggeration: early ? s.exaggeration : 1, theta: s.theta, threads: s.threads,
                                withDivergence: wantKL, into: &gradient, workspace: &workspace)
            for d in 0..<(2 * n) {
                let g = gradient[d]
                gains[d] = (update[d] * g < 0) ? gains[d] + 0.2 : max(gains[d] * 0.8, 0.01)
                update[d] = momentum * update[d] - rate * gains[d] * g
                y[d] += update[d]
            }
            if let kl {
                guard kl.isFinite, y.allSatisfy(\.isFinite) else {
                    throw MapError.invalid("t-SNE diverged at iteration \(iteration + 1) (non-finite coordinates); lower learning_rate or early_exaggeration")
                }
                divergence.append((iteration + 1, kl))
                report(Double(iteration + 1) / Double(s.iterations), String(format: "iteration %d/%d, KL %.3f%@", iteration + 1, s.iterations, kl, early ? " (exaggerated)" : ""))
                try checkCancelled()
            }
        }
        return TSNEResult(coordinates: y, divergence: divergence.map { (iteration: $0.0, kl: $0.1) }, learningRate: rate)
    }

    /// Per-point buffers of the gradient pass.
    struct GradientWorkspace {
        var forces: [Double]
        var sumQ: [Double]
        var pointKL: [Double]
        init(count n: Int) {
            forces = [Double](repeating: 0, count: 4 * n)
            sumQ = [Double](repeating: 0, count: n)
            pointKL = [Double](repeating: 0, count: n)
        }
    }

    /// The gradient of KL(exaggeration·P ‖ Q) at `y` into `gradient` (2 per point), with the
    /// repulsion from a Barnes–Hut quadtree (exact when theta = 0); returns KL(P ‖ Q) when
    /// asked. Every point's sums run in a fixed order and Z = Σ q in index order, so the result
    /// does not depend on `threads`.
    static func klGradient(_ y: [Double], _ p: Affinities, exaggeration: Double, theta: Double, threads: Int,
                           withDivergence wantKL: Bool, into gradient: inout [Double], workspace: inout GradientWorkspace) -> Double? {
        let n = y.count / 2
        let threads = max(1, threads)
        let chunks = min(n, threads * 16)
        let tree = QuadTree(points: y)
        y.withUnsafeBufferPointer { yb in
            workspace.forces.withUnsafeMutableBufferPointer { fb in
                workspace.sumQ.withUnsafeMutableBufferPointer { qb in
                    workspace.pointKL.withUnsafeMutableBufferPointer { kb in
                        let yp = WorkerPointer(yb.baseAddress!), f = WorkerPointer(fb.baseAddress!)
                        let q = WorkerPointer(qb.baseAddress!), kl = WorkerPointer(kb.baseAddress!)
                        Parallel.forEach(chunks, threads: threads) { c in
                            let stack = UnsafeMutablePointer<Int32>.allocate(capacity: QuadTree.stackCapacity)
                            defer { stack.deallocate() }
                            p.rowStart.withUnsafeBufferPointer { rowStart in
                                p.column.withUnsafeBufferPointer { column in
                                    p.value.withUnsafeBufferPointer { value in
                                        for i in (n * c / chunks)..<(n * (c + 1) / chunks) {
                                            let r = tree.repulsion(i, theta: theta, stack: stack)
                                            var ax = 0.0, ay = 0.0, sum = 0.0
                                            let xi = yp[2 * i], yi = yp[2 * i + 1]
                                            for e in rowStart[i]..<rowStart[i + 1] {
                                                let j = Int(column[e])
                                                let dx = xi - yp[2 * j], dy = yi - yp[2 * j + 1]
                                                let w = 1 + dx * dx + dy * dy
                                                let pw = value[e] / w
                                                ax += pw * dx; ay += pw * dy
                                                if wantKL {
                                                    let pij = max(value[e], 1e-300)
                                                    sum += pij * log(pij * w)
                                                }
                                            }
                                            // Attraction and raw repulsion; the repulsion is divided
                                            // by Z = Σ q once every point's share is in.
                                            f[4 * i] = ax; f[4 * i + 1] = ay; f[4 * i + 2] = r.fx; f[4 * i + 3] = r.fy
                                            q[i] = r.sumQ
                                            kl[i] = sum
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        let z = workspace.sumQ.reduce(0, +)
        let f = workspace.forces
        for i in 0..<n {
            gradient[2 * i] = 4 * (exaggeration * f[4 * i] - f[4 * i + 2] / z)
            gradient[2 * i + 1] = 4 * (exaggeration * f[4 * i + 1] - f[4 * i + 3] / z)
        }
        // KL(P‖Q) = Σ pᵢⱼ log(pᵢⱼ / qᵢⱼ) with qᵢⱼ = wᵢⱼ⁻¹ / Z: Σ pᵢⱼ log(pᵢⱼ wᵢⱼ) + log Z (Σ p = 1).
        return wantKL ? workspace.pointKL.reduce(0, +) + log(z) : nil
    }

    /// The symmetric input affinities P (CSR, rows sorted by column, sums to 1).
    struct Affinities: Sendable {
        var rowStart: [Int]
        var column: [Int32]
        var value: [Double]
    }

    /// pⱼ|ᵢ over each point's k nearest neighbours with the Gaussian width that gives the
    /// perplexity (binary search on the precision, as scikit-learn), then P = (P + Pᵀ) / ΣP.
    static func affinities(_ space: PointSet, neighbours k: Int, perplexity: Double, threads: Int) -> Affinities {
        let n = space.count
        var column = [Int32](repeating: 0, count: n * k)
        var conditional = [Double](repeating: 0, count: n * k)
        let chunks = min(n, max(1, threads) * 8)
        let target = log(perplexity)
        column.withUnsafeMutableBufferPointer { cb in
            conditional.withUnsafeMutableBufferPointer { pb in
                let col = WorkerPointer(cb.baseAddress!), cond = WorkerPointer(pb.baseAddress!)
                Parallel.forEach(chunks, threads: threads) { c in
                    var row = [Float](repeating: 0, count: n)
                    var nearest = NearestSelector(k: k)
                    var d = [Double](repeating: 0, count: k), w = [Double](repeating: 0, count: k)
                    for i in (n * c / chunks)..<(n * (c + 1) / chunks) {
                        row.withUnsafeMutableBufferPointer { space.distanceRow(i, into: $0.baseAddress!) }
                        nearest.reset()
                        for j in 0..<n where j != i { nearest.offer(row[j], Int32(j)) }
                        let sorted = nearest.sorted()
                        let nearestDistance = Double(sorted[0].distance)
                        for (m, e) in sorted.enumerated() { col[i * k + m] = e.index; d[m] = Double(e.distance) - nearestDistance }
                        var beta = 1.0, lo = -Double.infinity, hi = Double.infinity
                        for _ in 0..<200 {
                            var sum = 0.0, weighted = 0.0
                            for m in 0..<k { w[m] = exp(-d[m] * beta); sum += w[m]; weighted += d[m] * w[m] }
                            sum = max(sum, 1e-300)
                            let entropy = log(sum) + beta * weighted / sum
                            let gap = entropy - target
                            if abs(gap) <= 1e-5 { break }
                            if gap > 0 { lo = beta; beta = hi.isInfinite ? beta * 2 : (beta + hi) / 2 }
                            else { hi = beta; beta = lo.isInfinite ? beta / 2 : (beta + lo) / 2 }
                        }
                        var sum = 0.0
                        for m in 0..<k { w[m] = exp(-d[m] * beta); sum += w[m] }
                        for m in 0..<k { cond[i * k + m] = w[m] / max(sum, 1e-300) }
                    }
                }
            }
        }
        // Symmetrise: each conditional entry lands in row i and row j.
        var degree = [Int](repeating: 0, count: n + 1)
        for i in 0..<n { for m in 0..<k { degree[i] += 1; degree[Int(column[i * k + m])] += 1 } }
        var start = [Int](repeating: 0, count: n + 1)
        for i in 0..<n { start[i + 1] = start[i] + degree[i] }
        var fill = start
        var cols = [Int32](repeating: 0, count: start[n]), vals = [Double](repeating: 0, count: start[n])
        for i in 0..<n {
            for m in 0..<k {
                let j = Int(column[i * k + m]), v = conditional[i * k + m]
                cols[fill[i]] = Int32(j); vals[fill[i]] = v; fill[i] += 1
                cols[fill[j]] = Int32(i); vals[fill[j]] = v; fill[j] += 1
            }
        }
        // Sort each row by column and merge the duplicates (pairs that are neighbours both ways).
        var outStart = [Int](repeating: 0, count: n + 1)
        var outCol: [Int32] = [], outVal: [Double] = []
        outCol.reserveCapacity(start[n]); outVal.reserveCapacity(start[n])
        var total = 0.0
        for i in 0..<n {
            var entries: [(column: Int32, value: Double)] = []
            for e in start[i]..<start[i + 1] { entries.append((cols[e], vals[e])) }
            entries.sort { a, b in a.column != b.column ? a.column < b.column : a.value < b.value }
            for (j, v) in entries {
                if let last = outCol.last, outCol.count > outStart[i], last == j { outVal[outVal.count - 1] += v }
                else { outCol.append(j); outVal.append(v) }
                total += v
            }
            outStart[i + 1] = outCol.count
        }
        let scale = 1 / max(total, 1e-300)
        return Affinities(rowStart: outStart, column: outCol, value: outVal.map { $0 * scale })
    }

    /// The projection of the centred points on their first two principal components (x, y per
    /// point), each component's sign fixed so that its largest loading is positive.
    public static func principalComponents(points: [Float], dimension: Int) throws -> [Double] {
        try principalComponents(PointSet(values: points, dimension: dimension))
    }

    static func principalComponents(_ space: PointSet) throws -> [Double] {
        let n = space.count, dim = space.dimension
        guard n >= 2, dim >= 1 else { throw MapError.invalid("PCA needs at least 2 points") }
        var mean = [Double](repeating: 0, count: dim)
        for i in 0..<n { for c in 0..<dim { mean[c] += Double(space.values[i * dim + c]) } }
        for c in 0..<dim { mean[c] /= Double(n) }
        var centred = [Double](repeating: 0, count: n * dim)
        for i in 0..<n { for c in 0..<dim { centred[i * dim + c] = Double(space.values[i * dim + c]) - mean[c] } }
        // Covariance (upper triangle, row-major dim × dim), summed in index order.
        var cov = [Double](repeating: 0, count: dim * dim)
        for a in 0..<dim {
            for b in a..<dim {
                var s = 0.0
                for i in 0..<n { s += centred[i * dim + a] * centred[i * dim + b] }
                cov[a * dim + b] = s / Double(max(1, n - 1)); cov[b * dim + a] = cov[a * dim + b]
            }
        }
        var eigenvalues = [Double](repeating: 0, count: dim)
        let info = LAPACKE_dsyev(LAPACK_ROW_MAJOR, CChar(UInt8(ascii: "V")), CChar(UInt8(ascii: "U")), Int32(dim), &cov, Int32(dim), &eigenvalues)
        guard info == 0 else { throw MapError.invalid("PCA: the eigendecomposition failed (LAPACK dsyev info \(info))") }
        // Ascending order: the last two columns are the leading components.
        var components: [[Double]] = []
        for column in [dim - 1, max(0, dim - 2)] {
            var v = (0..<dim).map { cov[$0 * dim + column] }
            var big = 0
            for c in 1..<max(1, dim) where abs(v[c]) > abs(v[big]) { big = c }
            if v[big] < 0 { v = v.map { -$0 } }
            components.append(v)
        }
        if dim == 1 { components[1] = [0] }
        var out = [Double](repeating: 0, count: 2 * n)
        for i in 0..<n {
            for (axis, v) in components.enumerated() {
                var s = 0.0
                for c in 0..<dim { s += centred[i * dim + c] * v[c] }
                out[2 * i + axis] = s
            }
        }
        return out
    }
}
