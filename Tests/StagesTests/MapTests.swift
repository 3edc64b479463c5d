import Foundation
import Pipeline
import Testing
@testable import Stages

@Suite("Word map (t-SNE, PCA, trustworthiness)")
struct MapTests {
    /// Deterministic pseudo-random numbers for test data.
    struct Rand {
        var state: UInt64
        mutating func next() -> Double {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Double(state >> 11) * 0x1p-53
        }
        mutating func gaussian() -> Double {
            let u = max(next(), 1e-12), v = next()
            return (-2 * log(u)).squareRoot() * cos(2 * .pi * v)
        }
    }

    /// `clusters` Gaussian blobs of `perCluster` points in `dim` dimensions, centres far apart.
    static func blobs(clusters: Int, perCluster: Int, dim: Int, spread: Double = 0.3, seed: UInt64 = 7) -> (points: [Float], labels: [Int]) {
        var r = Rand(state: seed)
        let centres = (0..<clusters).map { _ in (0..<dim).map { _ in r.gaussian() * 3 } }
        var points: [Float] = [], labels: [Int] = []
        for i in 0..<(clusters * perCluster) {
            let c = i % clusters
            labels.append(c)
            for d in 0..<dim { points.append(Float(centres[c][d] + r.gaussian() * spread)) }
        }
        return (points, labels)
    }

    /// Trustworthiness straight from its definition, with full sorts (scikit-learn's way).
    static func naiveTrustworthiness(_ x: [Float], dim: Int, _ y: [Double], k: Int) -> Double {
        let n = x.count / dim
        func dx(_ i: Int, _ j: Int) -> Double {
            (0..<dim).reduce(0.0) { $0 + Double(x[i * dim + $1] - x[j * dim + $1]) * Double(x[i * dim + $1] - x[j * dim + $1]) }
        }
        var t = 0.0
        for i in 0..<n {
            let high = (0..<n).filter { $0 != i }.sorted { (dx(i, $0), $0) < (dx(i, $1), $1) }
            let low = (0..<n).filter { $0 != i }.sorted {
                let a = pow(y[2 * i] - y[2 * $0], 2) + pow(y[2 * i + 1] - y[2 * $0 + 1], 2)
                let b = pow(y[2 * i] - y[2 * $1], 2) + pow(y[2 * i + 1] - y[2 * $1 + 1], 2)
                return (a, $0) < (b, $1)
            }
            let trueSet = Set(high.prefix(k))
            for j in low.prefix(k) where !trueSet.contains(j) {
                t += Double(high.firstIndex(of: j)! + 1 - k)
            }
        }
        return 1 - 2 / (Double(n) * Double(k) * (2 * Double(n) - 3 * Double(k) - 1)) * t
    }

    @Test func trustworthinessMatchesItsDefinition() throws {
        let (x, _) = MapTests.blobs(clusters: 3, perCluster: 20, dim: 5)
        var r = Rand(state: 3)
        // A poor map (random) and a good one (the first two coordinates).
        let random = (0..<120).map { _ in r.next() }
        let firstTwo = (0..<60).flatMap { [Double(x[$0 * 5]), Double(x[$0 * 5 + 1])] }
        for map in [random, firstTwo] {
            let ours = try #require(MapQuality.trustworthiness(points: x, dimension: 5, map: map, k: 5, threads: 2))
            let naive = MapTests.naiveTrustworthiness(x, dim: 5, map, k: 5)
            #expect(abs(ours - naive) < 1e-12)
        }
        let poor = MapQuality.trustworthiness(points: x, dimension: 5, map: random, k: 5, threads: 1)!
        let good = MapQuality.trustworthiness(points: x, dimension: 5, map: firstTwo, k: 5, threads: 1)!
        #expect(good > poor)
        // A map that is the space itself is perfectly trustworthy.
        var plane: [Float] = []
        for _ in 0..<100 { plane.append(Float(r.next() * 10)) }
        let same = plane.map(Double.init)
        #expect(MapQuality.trustworthiness(points: plane, dimension: 2, map: same, k: 5, threads: 2) == 1)
        // Too few points for k: no figure rather than a trap.
        #expect(MapQuality.trustworthiness(points: [0, 0, 1, 1], dimension: 2, map: [0, 0, 1, 1], k: 5, threads: 1) == nil)
    }

    @Test func barnesHutRepulsionIsExactAtThetaZeroAndCloseAtHalf() {
        var r = Rand(state: 11)
        var y = (0..<400).map { _ in r.gaussian() * 5 }
        // Duplicates and a cluster of near-identical points (the depth limit).
        y[2] = y[0]; y[3] = y[1]; y[4] = y[0]; y[5] = y[1]
        for i in 10..<20 { y[2 * i] = 1 + Double(i) * 1e-15; y[2 * i + 1] = 1 }
        let n = y.count / 2
        let tree = QuadTree(points: y)
        let stack = UnsafeMutablePointer<Int32>.allocate(capacity: QuadTree.stackCapacity)
        defer { stack.deallocate() }
        for i in [0, 1, 2, 12, 57, 199] {
            var fx = 0.0, fy = 0.0, z = 0.0
            for j in 0..<n where j != i {
                let dx = y[2 * i] - y[2 * j], dy = y[2 * i + 1] - y[2 * j + 1]
                let q = 1 / (1 + dx * dx + dy * dy)
                z += q; fx += q * q * dx; fy += q * q * dy
            }
            let exact = tree.repulsion(i, theta: 0, stack: stack)
            #expect(abs(exact.sumQ - z) < 1e-9 * z)
            #expect(abs(exact.fx - fx) < 1e-9 * (abs(fx) + 1e-9) + 1e-12)
            #expect(abs(exact.fy - fy) < 1e-9 * (abs(fy) + 1e-9) + 1e-12)
            let approximate = tree.repulsion(i, theta: 0.5, stack: stack)
            #expect(abs(approximate.sumQ - z) < 0.02 * z)
        }
    }

    @Test func affinitiesHaveThePerplexityAndAreSymmetric() {
        let (x, _) = MapTests.blobs(clusters: 4, perCluster: 40, dim: 8)
        let space = PointSet(values: x, dimension: 8)
        let perplexity = 10.0
        let k = 31
        let p = TSNE.affinities(space, neighbours: k, perplexity: perplexity, threads: 2)
        var total = 0.0
        var entries: [String: Double] = [:]
        for i in 0..<space.count {
            var last: Int32 = -1
            for e in p.rowStart[i]..<p.rowStart[i + 1] {
                #expect(p.column[e] > last)  // sorted, no duplicates
                #expect(Int(p.column[e]) != i)
                last = p.column[e]
                entries["\(i),\(p.column[e])"] = p.value[e]
                total += p.value[e]
            }
        }
        #expect(abs(total - 1) < 1e-9)
        for (key, v) in entries {
            let parts = key.split(separator: ",")
            #expect(entries["\(parts[1]),\(parts[0])"] == v)
        }
        // Recover each conditional row: p_ij·2n = p_j|i + p_i|j; check the perplexity of point 0's
        // conditional distribution directly.
        var row = [Float](repeating: 0, count: space.count)
        row.withUnsafeMutableBufferPointer { space.distanceRow(0, into: $0.baseAddress!) }
        var selector = NearestSelector(k: k)
        for j in 1..<space.count { selector.offer(row[j], Int32(j)) }
        let d = selector.sorted().map { Double($0.distance) }
        // Solve for beta by bisection here, independently, and compare entropies.
        func entropy(_ beta: Double) -> Double {
            let w = d.map { exp(-($0 - d[0]) * beta) }, s = w.reduce(0, +)
            return -w.map { $0 / s }.reduce(0) { $0 + ($1 > 0 ? $1 * log($1) : 0) }
        }
        var lo = 0.0, hi = 1e6
        for _ in 0..<200 { let mid = (lo + hi) / 2; if entropy(mid) > log(perplexity) { lo = mid } else { hi = mid } }
        #expect(abs(entropy(lo) - log(perplexity)) < 1e-4)
    }

    @Test func gradientMatchesNumericalDifferencesOfKL() {
        let (x, _) = MapTests.blobs(clusters: 2, perCluster: 15, dim: 4)
        let space = PointSet(values: x, dimension: 4)
        let p = TSNE.affinities(space, neighbours: 20, perplexity: 5, threads: 1)
        var r = Rand(state: 5)
        let y = (0..<(2 * space.count)).map { _ in r.gaussian() }
        var gradient = [Double](repeating: 0, count: y.count)
        var workspace = TSNE.GradientWorkspace(count: space.count)
        let kl0 = TSNE.klGradient(y, p, exaggeration: 1, theta: 0, threads: 1, withDivergence: true, into: &gradient, workspace: &workspace)
        #expect(kl0 != nil && kl0! > 0)
        func kl(_ y: [Double]) -> Double {
            var g = [Double](repeating: 0, count: y.count), w = TSNE.GradientWorkspace(count: space.count)
            return TSNE.klGradient(y, p, exaggeration: 1, theta: 0, threads: 1, withDivergence: true, into: &g, workspace: &w)!
        }
        let h = 1e-6
        for d in [0, 1, 7, 20, 41] {
            var plus = y, minus = y
            plus[d] += h; minus[d] -= h
            let numerical = (kl(plus) - kl(minus)) / (2 * h)
            #expect(abs(numerical - gradient[d]) < 1e-5 * max(1, abs(gradient[d])), "coordinate \(d): \(numerical) vs \(gradient[d])")
        }
    }

    @Test func pcaRecoversAPlaneAndFixesSigns() throws {
        // Points on a 2-D plane inside 6-D: the PCA map keeps every distance.
        var r = Rand(state: 9)
        let a = (0..<6).map { _ in r.gaussian() }, b0 = (0..<6).map { _ in r.gaussian() }
        // Gram–Schmidt so the plane's axes are orthonormal.
        let na = sqrt(a.reduce(0) { $0 + $1 * $1 }), u = a.map { $0 / na }
        let proj = zip(b0, u).reduce(0) { $0 + $1.0 * $1.1 }
        let b1 = zip(b0, u).map { $0 - proj * $1 }, nb = sqrt(b1.reduce(0) { $0 + $1 * $1 }), v = b1.map { $0 / nb }
        let coords = (0..<40).map { _ in (r.gaussian() * 3, r.gaussian()) }
        let points = coords.flatMap { c in (0..<6).map { Float(c.0 * u[$0] + c.1 * v[$0] + 0.5) } }
        let map = try TSNE.principalComponents(points: points, dimension: 6)
        for (i, j) in [(0, 1), (2, 30), (5, 17)] {
            let high = (0..<6).reduce(0.0) { $0 + pow(Double(points[i * 6 + $1] - points[j * 6 + $1]), 2) }
            let low = pow(map[2 * i] - map[2 * j], 2) + pow(map[2 * i + 1] - map[2 * j + 1], 2)
            #expect(abs(high - low) < 1e-3 * max(1, high))
        }
        // The same points in another order give the same coordinates (deterministic signs).
        let reversed = (0..<40).reversed().flatMap { i in points[(i * 6)..<(i * 6 + 6)] }
        let map2 = try TSNE.principalComponents(points: reversed, dimension: 6)
        #expect(abs(map2[0] - map[2 * 39]) < 1e-4 && abs(map2[1] - map[2 * 39 + 1]) < 1e-4)
    }

    @Test func tsneSeparatesClustersAndIsDeterministicForAnyThreadCount() throws {
        let (x, labels) = MapTests.blobs(clusters: 4, perCluster: 50, dim: 20)
        var s = TSNESettings()
        s.perplexity = 15; s.iterations = 400; s.threads = 1
        let one = try TSNE.embed(points: x, dimension: 20, settings: s)
        s.threads = 2
        let two = try TSNE.embed(points: x, dimension: 20, settings: s)
        #expect(one.coordinates == two.coordinates)
        // Each point's 5 nearest map neighbours share its cluster.
        let y = one.coordinates, n = labels.count
        var agree = 0
        func d2(_ i: Int, _ j: Int) -> Double {
            let dx = y[2 * i] - y[2 * j], dy = y[2 * i + 1] - y[2 * j + 1]
            return dx * dx + dy * dy
        }
        for i in 0..<n {
            let near = (0..<n).filter { $0 != i }.sorted { d2(i, $0) < d2(i, $1) }.prefix(5)
            agree += near.filter { labels[$0] == labels[i] }.count
        }
        #expect(Double(agree) / Double(5 * n) > 0.97)
        // KL falls as the optimisation goes on (after the exaggerated phase).
        let after = one.divergence.filter { $0.iteration > 250 }
        #expect(after.count >= 2 && after.last!.kl < after.first!.kl + 1e-9)
        let trust = try #require(MapQuality.trustworthiness(points: x, dimension: 20, map: y, k: 10, threads: 2))
        #expect(trust > 0.9)
        // A random start is reproducible from its seed and differs from another seed.
        s.initialization = .random; s.iterations = 50
        let r1 = try TSNE.embed(points: x, dimension: 20, settings: s)
        let r2 = try TSNE.embed(points: x, dimension: 20, settings: s)
        s.seed = 2
        let r3 = try TSNE.embed(points: x, dimension: 20, settings: s)
        #expect(r1.coordinates == r2.coordinates && r1.coordinates != r3.coordinates)
    }

    @Test func refusesWhatItCannotMap() {
        let (x, _) = MapTests.blobs(clusters: 1, perCluster: 3, dim: 4)
        #expect(throws: MapError.self) { try TSNE.embed(points: x, dimension: 4, settings: TSNESettings()) }
        let (y, _) = MapTests.blobs(clusters: 2, perCluster: 10, dim: 4)
        var s = TSNESettings()
        s.perplexity = 30
        #expect(throws: MapError.self) { try TSNE.embed(points: y, dimension: 4, settings: s) }
        // A step size that blows the map up is an error, not a map of NaNs.
        var wild = TSNESettings()
        wild.perplexity = 3; wild.learningRate = 1e300; wild.iterations = 100
        #expect(throws: MapError.self) { try TSNE.embed(points: y, dimension: 4, settings: wild) }
    }
}

@Suite("Word groups for maps")
struct WordGroupTests {
    @Test func googleSectionsGiveRolesAndFixedListsComeFirst() throws {
        let set = try BuiltinDatasets.analogies(InputFile(BuiltinDatasets.analogies))
        let groups = WordGroups.groups(analogies: set)
        let names = groups.map(\.name)
        #expect(Array(names.prefix(3)) == ["days", "months", "numbers"])
        for name in ["capitals", "countries", "currencies", "US cities", "US states", "family words", "nationalities", "adverbs", "plural nouns"] {
            #expect(names.contains(name), "\(name)")
        }
        func group(_ n: String) -> Set<String> { Set(groups.first { $0.name == n }?.words ?? []) }
        #expect(group("capitals").contains("athens") && group("countries").contains("greece"))
        #expect(group("currencies").contains("dollar") && !group("currencies").contains("usa"))
        #expect(group("family words").contains("queen"))
        // Each word in one group only.
        var seen: [String: String] = [:]
        for g in groups { for w in g.words { #expect(seen[w] == nil, "\(w) in \(seen[w] ?? "") and \(g.name)"); seen[w] = g.name } }
    }

    @Test func otherAnalogySetsGroupBySectionName() throws {
        // A set with its own section names (as a held-out or translated set would have).
        let text = ": E01 [country - capital]\nFrance Paris Italy Rome\nSpain Madrid Peru Lima\n: animals-young\ncat kitten dog puppy\n"
        let set = try AnalogyDataset.parse(text)
        let groups = WordGroups.groups(analogies: set)
        #expect(groups.first { $0.name == "E01 [country - capital]" }.map { Set($0.words) } == ["france", "paris", "italy", "rome", "spain", "madrid", "peru", "lima"])
        #expect(groups.first { $0.name == "animals-young" }?.words.count == 4)
        // No set at all: the fixed lists.
        #expect(WordGroups.groups(analogies: nil) == WordGroups.fixed)
        // Assignment keeps groups with enough members on the map, in order, up to a limit.
        let words = ["monday", "tuesday", "friday", "one", "two", "france", "paris", "rome", "kitten"]
        let (kept, membership) = WordGroups.assign(words, groups: groups, minimum: 2, limit: 3)
        #expect(kept.map(\.name) == ["days", "numbers", "E01 [country - capital]"])
        #expect(membership == [0, 0, 0, 1, 1, 2, 2, 2, nil])
        let (one, _) = WordGroups.assign(words, groups: groups, minimum: 2, limit: 1)
        #expect(one.map(\.name) == ["days"])
    }
}
