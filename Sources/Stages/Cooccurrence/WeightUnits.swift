/// Co-occurrence weights as integers: weight(d) = units[d] / scale.
///
/// Sums are kept as UInt64 counts of units, so they are exact and do not depend on the order of
/// the additions (threads, memory budget, spills): the artifact is byte-identical whatever the
/// thread count or `memory_mb`. The scale makes every weight an exact integer when it can:
/// 1 for `uniform`, `window` for `word2vec`, lcm(1…window) for `harmonic` (2520 for window 10,
/// 232,792,560 for window 20). Only when that could overflow (harmonic, a large window on a large
/// corpus) is the scale 2^k with the largest k that cannot, and 1/d rounded to a multiple of
/// 2^-k: for 17M tokens and window 100, k = 35, a relative error below 2e-9 per weight, far
/// below Float32's 6e-8 (and no drift: each sum is exact in those units).
struct WeightUnits: Sendable, Equatable {
    /// units[d] for d in 1…window; units[0] = 0.
    let units: [UInt64]
    /// prefix[n] = units[1] + … + units[n].
    let prefix: [UInt64]
    let scale: Double
    /// Whether every weight is exactly units[d] / scale.
    let exact: Bool

    /// The sum of all entries of the matrix is at most 2 × tokens × prefix[window]; that must
    /// stay below 2^63 (so no single sum, nor the total, can overflow).
    static let bound: UInt64 = 1 << 63

    init(weighting: CooccurrenceWeighting, window: Int, maxTokens: Int) throws {
        guard window >= 1 && window <= CooccurrenceCounter.maxWindow else {
            throw CooccurrenceError.invalidInput("window \(window) is outside 1…\(CooccurrenceCounter.maxWindow)")
        }
        let tokens = UInt64(max(1, maxTokens))
        func fits(_ u: [UInt64]) -> Bool {
            var sum: UInt64 = 0
            for x in u {
                let (s, o) = sum.addingReportingOverflow(x)
                if o { return false }
                sum = s
            }
            let (a, o1) = sum.multipliedReportingOverflow(by: tokens)
            let (b, o2) = a.multipliedReportingOverflow(by: 2)
            return !o1 && !o2 && b <= WeightUnits.bound
        }
        var candidate: (units: [UInt64], scale: Double, exact: Bool)? = nil
        switch weighting {
        case .uniform:
            candidate = ([0] + [UInt64](repeating: 1, count: window), 1, true)
        case .word2vec:
            candidate = ([0] + (1...window).map { UInt64(window - $0 + 1) }, Double(window), true)
        case .harmonic:
            // lcm(1…window), if it does not overflow.
            var l: UInt64? = 1
            for d in 1...window {
                guard let cur = l else { break }
                let g = WeightUnits.gcd(cur, UInt64(d))
                let (m, o) = (cur / g).multipliedReportingOverflow(by: UInt64(d))
                l = o ? nil : m
            }
            if let l { candidate = ([0] + (1...window).map { l / UInt64($0) }, Double(l), true) }
        }
        if let c = candidate, fits(c.units) {
            self.init(units: c.units, scale: c.scale, exact: c.exact)
            return
        }
        guard weighting == .harmonic else {
            throw CooccurrenceError.tooLarge("\(maxTokens) tokens are too many to sum co-occurrence weights exactly in 64 bits")
        }
        // 1/d rounded to multiples of 2^-k, for the largest k whose sums cannot overflow.
        for k in stride(from: 62, through: 24, by: -1) {
            let scale = Double(UInt64(1) << k)
            let u = [0] + (1...window).map { UInt64((scale / Double($0)).rounded()) }
            if fits(u) {
                self.init(units: u, scale: scale, exact: false)
                return
            }
        }
        throw CooccurrenceError.tooLarge("\(maxTokens) tokens are too many to sum co-occurrence weights in 64 bits")
    }

    private init(units: [UInt64], scale: Double, exact: Bool) {
        self.units = units
        var p: [UInt64] = [0]
        for d in 1..<units.count { p.append(p[d - 1] + units[d]) }
        prefix = p
        self.scale = scale
        self.exact = exact
    }

    static func gcd(_ a: UInt64, _ b: UInt64) -> UInt64 {
        var (x, y) = (a, b)
        while y != 0 { (x, y) = (y, x % y) }
        return x
    }

    /// The weight a sum of `units` stands for, in Float64.
    @inline(__always)
    func weight(_ units: UInt64) -> Double { Double(units) / scale }
}
