import Foundation
import Pipeline
import Testing
@testable import Stages

/// A small dense symmetric matrix as CSR arrays (zeros left out).
struct DenseCSR {
    let size: Int
    var rowStart: [UInt64] = [0]
    var columns: [UInt32] = []
    var values: [Float] = []
    init(_ dense: [[Float]]) {
        size = dense.count
        for row in dense {
            for (j, x) in row.enumerated() where x != 0 { columns.append(UInt32(j)); values.append(x) }
            rowStart.append(UInt64(columns.count))
        }
    }
    func with<R>(_ body: (CSRMatrix) throws -> R) rethrows -> R {
        try rowStart.withUnsafeBufferPointer { r in
            try columns.withUnsafeBufferPointer { c in
                try values.withUnsafeBufferPointer { v in
                    try body(CSRMatrix(size: size, rowStart: r, columns: c, values: v))
                }
            }
        }
    }
}

/// Co-occurrence counts of two topics: words 0–4 co-occur with each other often, words 5–9
/// too, across the topics rarely.
func twoTopicCounts(_ n: Int = 10) -> [[Float]] {
    (0..<n).map { i in (0..<n).map { j in i == j ? 0 : ((i < n / 2) == (j < n / 2) ? 40 + Float((i * j) % 7) : 2) } }
}

@Suite("GloVe")
struct GloVeTests {
    /// One AdaGrad step moves every parameter by −η · ∂J/∂θ (the squared-gradient sums start at
    /// 1), with ∂J/∂θ taken numerically, and adds the squared step to the sums.
    @Test func oneAdaGradStepFollowsTheNumericalGradient() {
        let d = 5
        var rng = Word2VecRandom(seed: 7, worker: 0)
        let w0 = (0...d).map { _ in rng.unitFloat() - 0.5 }, c0 = (0...d).map { _ in rng.unitFloat() - 0.5 }
        let logX: Float = 1.3, weight: Float = 0.6, eta: Float = 0.05
        func cost(_ w: [Double], _ c: [Double]) -> Double {
            var dot = 0.0
            for k in 0..<d { dot += w[k] * c[k] }
            let diff = dot + w[d] + c[d] - Double(logX)
            return 0.5 * Double(weight) * diff * diff
        }
        let wd = w0.map(Double.init), cd = c0.map(Double.init)
        func numeric(_ which: Int, _ k: Int) -> Double {
            let h = 1e-6
            var wp = wd, wm = wd, cp = cd, cm = cd
            if which == 0 { wp[k] += h; wm[k] -= h } else { cp[k] += h; cm[k] -= h }
            return (cost(wp, cp) - cost(wm, cm)) / (2 * h)
        }
        var w = w0, c = c0
        var gw = [Float](repeating: 1, count: d + 1), gc = [Float](repeating: 1, count: d + 1)
        let j = w.withUnsafeMutableBufferPointer { wp in
            c.withUnsafeMutableBufferPointer { cp in
                gw.withUnsafeMutableBufferPointer { gwp in
                    gc.withUnsafeMutableBufferPointer { gcp in
                        GloVeKernel.step(word: wp.baseAddress!, context: cp.baseAddress!, wordSquares: gwp.baseAddress!,
                                         contextSquares: gcp.baseAddress!, dimension: d, logCount: logX, weight: weight, learningRate: eta)
                    }
                }
            }
        }
        #expect(abs(Double(j) - cost(wd, cd)) < 1e-6)
        for k in 0...d {
            let gradW = numeric(0, k), gradC = numeric(1, k)
            #expect(abs(Double(w[k] - w0[k]) + Double(eta) * gradW) < 1e-5, "w[\(k)]")
            #expect(abs(Double(c[k] - c0[k]) + Double(eta) * gradC) < 1e-5, "c[\(k)]")
            #expect(abs(Double(gw[k]) - (1 + pow(Double(eta) * gradW, 2))) < 1e-5)
            #expect(abs(Double(gc[k]) - (1 + pow(Double(eta) * gradC, 2))) < 1e-5)
        }
    }

    @Test func weightingFunction() {
        #expect(GloVeKernel.weight(100, xMax: 100, alpha: 0.75) == 1)
        #expect(GloVeKernel.weight(500, xMax: 100, alpha: 0.75) == 1)
        #expect(abs(GloVeKernel.weight(10, xMax: 100, alpha: 0.75) - Float(pow(0.1, 0.75))) < 1e-6)
        #expect(abs(GloVeKernel.weight(25, xMax: 100, alpha: 1) - 0.25) < 1e-6)
    }

    func train(threads: Int, seed: UInt64 = 3, epochs: Int = 40) throws -> (GloVeModel, GloVeResult) {
        var s = GloVeSettings()
        s.dimension = 8; s.xMax = 10; s.epochs = epochs; s.threads = threads; s.seed = seed
        let model = GloVeModel(size: 10, dimension: 8, seed: seed)
        let result = try DenseCSR(twoTopicCounts()).with { try GloVeTrainer.train(model: model, matrix: $0, settings: s) }
        return (model, result)
    }

    @Test func costFallsAndTopicsSeparate() throws {
        let (model, result) = try train(threads: 1)
        #expect(result.entries == 90)
        #expect(result.epochCosts.count == 40)
        #expect(result.epochCosts.last! < result.epochCosts.first! * 0.2)
        #expect(result.costCurve.count >= 40 && result.costCurve.last!.fraction == 1)
        let v = model.vectors(sum: true)
        func cos(_ a: Int, _ b: Int) -> Double {
            var dot = 0.0, na = 0.0, nb = 0.0
            for k in 0..<8 { let x = Double(v[a * 8 + k]), y = Double(v[b * 8 + k]); dot += x * y; na += x * x; nb += y * y }
            return dot / (na * nb).squareRoot()
        }
        // Same-topic pairs are closer than cross-topic pairs.
        let within = (cos(0, 1) + cos(2, 3) + cos(6, 7) + cos(8, 9)) / 4
        let across = (cos(0, 6) + cos(1, 7) + cos(2, 8) + cos(3, 9)) / 4
        #expect(within > across + 0.3)
    }

    @Test func oneThreadAndASeedGiveIdenticalVectors() throws {
        let a = try train(threads: 1, epochs: 5).0.vectors(sum: true)
        let b = try train(threads: 1, epochs: 5).0.vectors(sum: true)
        let c = try train(threads: 1, seed: 4, epochs: 5).0.vectors(sum: true)
        #expect(a.map(\.bitPattern) == b.map(\.bitPattern))
        #expect(a != c)
        let (two, result) = try train(threads: 2, epochs: 5)
        #expect(result.epochCosts.allSatisfy { $0.isFinite })
        #expect(two.vectors(sum: false).count == 80)
    }

    @Test func emptyMatrixIsRefused() throws {
        let model = GloVeModel(size: 3, dimension: 4, seed: 1)
        var s = GloVeSettings()
        s.dimension = 4
        #expect(throws: GloVeError.self) {
            try DenseCSR([[0, 0, 0], [0, 0, 0], [0, 0, 0]]).with { try GloVeTrainer.train(model: model, matrix: $0, settings: s) }
        }
    }
}
