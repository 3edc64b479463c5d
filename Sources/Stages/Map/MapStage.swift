import Foundation
import Pipeline

/// map: 2-D coordinates of the N most frequent words, by Barnes–Hut t-SNE (default) or PCA,
/// on unit-length vectors (so distances rank neighbours as cosine does). The map's
/// trustworthiness (k = 10) is measured and kept with it; the HTML report draws it.
public enum MapStage: PublishingStage {
    public static let typeName = "map"
    public static let summary = "2-D word map of the most frequent words (Barnes–Hut t-SNE or PCA) with its trustworthiness, for the report and plotting tools (TSV)"
    public static let implementationVersion = 1
    /// Neighbours for the trustworthiness figure (as the issue and the Python reference use).
    public static let trustNeighbours = 10

    public enum Method: String, CaseIterable, Sendable { case tsne, pca }

    public struct Parameters: StageParameters {
        public var words = 5000
        public var method: Method = .tsne
        public var perplexity = 30.0
        public var iterations = 1000
        public var earlyExaggeration = 12.0
        public var exaggerationIterations = 250
        public var learningRate: Double? = nil
        public var theta = 0.5
        public var initialization: MapInitialization = .pca
        public var seed = 1
        public var threads = 0
        public var tsv: String? = nil
        public init() {}
        public static let fields: [ParameterField<Self>] = [
            .integer("words", \.words, in: 4...100_000, help: "map the N most frequent words (time grows as N log N, the trustworthiness check as N²)"),
            .choice("method", \.method, help: "tsne (Barnes–Hut t-SNE: local neighbourhoods, clusters) or pca (the first two principal components: global directions, instant)"),
            .number("perplexity", \.perplexity, in: 1...1000, help: "t-SNE: the effective number of neighbours each word keeps (5–50 usual); must be below words − 1"),
            .integer("iterations", \.iterations, in: 1...100_000, help: "t-SNE: gradient steps in all, early exaggeration included (scikit-learn: 1000)"),
            .number("early_exaggeration", \.earlyExaggeration, in: 1...1000, help: "t-SNE: attraction multiplier of the first steps, which lets clusters form (scikit-learn: 12)"),
            .integer("exaggeration_iterations", \.exaggerationIterations, in: 0...100_000, help: "t-SNE: how many of the steps are exaggerated, with momentum 0.5 (then 0.8)"),
            .number("learning_rate", \.learningRate, in: 0.001...1_000_000, help: "t-SNE step size (null: scikit-learn's auto, max(words / early_exaggeration / 4, 50))"),
            .number("theta", \.theta, in: 0...1, help: "t-SNE Barnes–Hut accuracy: a cell is summarised when width / distance < theta (0 = exact O(N²) forces; 0.5 usual)"),
            .choice("init", \.initialization, help: "t-SNE start: pca (deterministic, keeps the global layout) or random (from seed)"),
            .integer("seed", \.seed, in: 0...Int64.max, help: "seed of the random start (init random)"),
            .integer("threads", \.threads, in: 0...1024, identity: .ignored, help: "threads (0 = all cores); the map is the same for any count"),
            .destination("tsv", \.tsv, help: "also write the coordinates as TSV here (word, x, y, count; header line), relative to the experiment file (null: none)"),
        ]
    }

    public static let inputs = [Slots.embeddings.spec]
    public static let outputs = [OutputSpec("map", kind: ArtifactKind.map)]

    /// The rows of the `words` most frequent words (by count, ties in table order), as unit
    /// vectors; zero vectors stay zero.
    static func selectRows(_ table: EmbeddingTable, limit: Int) throws -> (rows: [Int], vectors: [Float]) {
        let order = (0..<table.size).sorted { a, b in table.counts[a] != table.counts[b] ? table.counts[a] > table.counts[b] : a < b }
        let rows = Array(order.prefix(limit))
        let dim = table.dimension
        var out = [Float](repeating: 0, count: rows.count * dim)
        for (r, row) in rows.enumerated() {
            var norm = 0.0
            for c in 0..<dim {
                let v = table.vectors[row * dim + c]
                guard v.isFinite else {
                    throw MapError.invalid("the vector of \"\(table.words[row])\" has a non-finite value (\(v)); the embeddings are damaged — retrain or exclude the word")
                }
                norm += Double(v) * Double(v)
            }
            let scale = norm > 0 ? Float(1 / norm.squareRoot()) : 0
            for c in 0..<dim { out[r * dim + c] = table.vectors[row * dim + c] * scale }
        }
        return (rows, out)
    }

    public static func run(_ context: StageContext, parameters p: Parameters) throws -> StageOutcome {
        let table = try context.read(Slots.embeddings)
        let n = min(p.words, table.size)
        guard n >= 4, table.dimension >= 1 else {
            throw MapError.invalid("a map needs at least 4 words with vectors; the embeddings have \(table.size) word(s) of dimension \(table.dimension)")
        }
        if p.method == .tsne && p.perplexity >= Double(n - 1) {
            throw MapError.invalid("perplexity \(p.perplexity) is too high for \(n) words (it must be below \(n - 1)); lower perplexity (5–50 is usual)")
        }
        let threads = p.threads == 0 ? context.availableCores : p.threads
        let (rows, vectors) = try selectRows(table, limit: n)
        let start = Date()
        var coordinates: [Double]
        var description: [String: JSONValue] = [
            "method": .string(p.method.rawValue), "words": .integer(Int64(n)), "metric": .string("cosine (unit vectors, euclidean)"),
        ]
        if let method = table.provenance["method"] { description["source_method"] = method }
        if let model = table.provenance["model"] { description["source_model"] = model }
        var metrics: [String: JSONValue] = [:]
        var detail = ""
        switch p.method {
        case .pca:
            coordinates = try TSNE.principalComponents(points: vectors, dimension: table.dimension)
        case .tsne:
            var s = TSNESettings()
            s.perplexity = p.perplexity; s.iterations = p.iterations; s.exaggeration = p.earlyExaggeration
            s.exaggerationIterations = p.exaggerationIterations; s.learningRate = p.learningRate; s.theta = p.theta
            s.initialization = p.initialization; s.seed = UInt64(p.seed); s.threads = threads
            context.note("t-SNE of \(Format.grouped(n)) words × \(table.dimension), perplexity \(p.perplexity), \(p.iterations) iterations (\(p.exaggerationIterations) exaggerated ×\(p.earlyExaggeration)), theta \(p.theta), \(threads) thread(s)")
            let result = try TSNE.embed(points: vectors, dimension: table.dimension, settings: s,
                                        report: { context.progress.update(fraction: $0, detail: $1) },
                                        checkCancelled: { try context.checkCancelled() })
            coordinates = result.coordinates
            let kl = result.divergence.last?.kl ?? .nan
            description["perplexity"] = .number(p.perplexity)
            description["iterations"] = .integer(Int64(p.iterations))
            description["learning_rate"] = .number(result.learningRate)
            description["theta"] = .number(p.theta)
            description["init"] = .string(p.initialization.rawValue)
            if kl.isFinite { description["kl_divergence"] = .number(kl); metrics["kl_divergence"] = .number(kl) }
            metrics["kl_curve"] = .array(result.divergence.filter { $0.kl.isFinite }.map { .array([.integer(Int64($0.iteration)), .number($0.kl)]) })
            detail = kl.isFinite ? String(format: ", KL %.3f", kl) : ""
        }
        let seconds = Date().timeIntervalSince(start)
        guard coordinates.allSatisfy(\.isFinite) else {
            throw MapError.invalid("the map has non-finite coordinates (the optimisation diverged); lower learning_rate or early_exaggeration")
        }
        context.progress.update(fraction: 1, detail: "trustworthiness")
        let trust = MapQuality.trustworthiness(points: vectors, dimension: table.dimension, map: coordinates, k: trustNeighbours, threads: threads)
        if let trust {
            description["trustworthiness"] = .number(trust)
            description["trustworthiness_k"] = .integer(Int64(trustNeighbours))
            metrics["trustworthiness"] = .number(trust)
        }
        let out = try context.output("map", formatVersion: WordMap.formatVersion)
        try WordMap.write(to: out, words: rows.map { table.words[$0] }, counts: rows.map { table.counts[$0] },
                          coordinates: coordinates.map { Float($0) }, description: description)
        metrics["map_seconds"] = .number(seconds)
        metrics["words"] = .integer(Int64(n))
        let trustText = trust.map { String(format: "trustworthiness %.3f (k = %d)", $0, trustNeighbours) } ?? "trustworthiness n/a"
        return StageOutcome(summary: "\(p.method.rawValue) map of \(Format.grouped(n)) words in \(Format.seconds(seconds)), \(trustText)\(detail)",
                            metrics: metrics)
    }

    static func target(_ parameters: Parameters, experimentFile: URL) -> URL? {
        parameters.tsv.map { URL(fileURLWithPath: $0, relativeTo: experimentFile.deletingLastPathComponent()).standardizedFileURL }
    }

    public static func destinations(parameters: Parameters, experimentFile: URL) -> [URL] {
        target(parameters, experimentFile: experimentFile).map { [$0] } ?? []
    }

    public static func publish(outputs: [String: ArtifactReader], parameters: Parameters, experimentFile: URL) throws -> [String] {
        guard let target = target(parameters, experimentFile: experimentFile), let reader = outputs["map"] else { return [] }
        let data = Data(try WordMap(reader).tsv().utf8)
        if let existing = try? Data(contentsOf: target), existing == data { return [] }
        try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        try data.withUnsafeBytes { try ArtifactStore.writeAtomically($0, to: target.path) }
        return [target.relativePathForDisplay]
    }
}
