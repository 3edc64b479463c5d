import Foundation
import Pipeline

/// evaluate: analogies (3CosAdd, 3CosMul), word similarity, neighbours, the lab's sanity bar.
public enum EvaluateStage: Stage {
    public static let typeName = "evaluate"
    public static let summary = "Score embeddings: Google analogies (3CosAdd/3CosMul), WordSim-353 Spearman, nearest neighbours, king/queen sanity bar"
    public static let implementationVersion = 1
    public struct Parameters: StageParameters {
        public var analogies: InputFile? = InputFile(BuiltinDatasets.analogies)
        public var similarity: InputFile? = InputFile(BuiltinDatasets.wordSim353)
        public var restrictVocab = 30000
        public var probes = ["king", "queen", "paris", "computer"]
        public var k = 10
        public init() {}
        public static let fields: [ParameterField<Self>] = [
            .file("analogies", \.analogies, help: "analogy questions in the Google format, relative to the experiment file (default: the built-in Google set; null to skip)"),
            .file("similarity", \.similarity, help: "`word1 word2 score` pairs, relative to the experiment file (default: the built-in WordSim-353; null to skip)"),
            .integer("restrict_vocab", \.restrictVocab, in: 1...Int64.max, help: "answer analogies among the N most frequent words (word2vec.c compute-accuracy uses 30000)"),
            .strings("probes", \.probes, help: "words whose nearest neighbours the report lists"),
            .integer("k", \.k, in: 1...1000, help: "neighbours per probe"),
        ]
    }
    public static let inputs = [Slots.embeddings.spec]
    public static let outputs = [OutputSpec("report", kind: ArtifactKind.report)]
    public static let reportFormatVersion: UInt16 = 1

    public static func run(_ context: StageContext, parameters: Parameters) throws -> StageOutcome {
        let table = try context.read(Slots.embeddings)
        let vectors = try table.wordVectors()
        let analogies = try parameters.analogies.map(BuiltinDatasets.analogies)
        let similarity = try parameters.similarity.map(BuiltinDatasets.similarity)
        let report = EvaluationReport.evaluate(vectors, source: "experiment \(context.experimentName), stage \(context.stageID)",
                                               model: table.provenance, analogies: analogies, similarity: similarity,
                                               restrictVocabulary: parameters.restrictVocab,
                                               probes: parameters.probes, k: parameters.k)
        // Timings go to the run record, not into the artifact, so equal inputs give equal bytes.
        var stored = report
        stored.seconds = 0
        stored.analogy?.seconds = 0
        let out = try context.output("report", formatVersion: reportFormatVersion)
        try writeReport(stored, to: out)
        var parts: [String] = []
        if let a = report.analogy { parts.append("analogies \(EvaluationReport.pct(a.overall.accuracyAdd)) (coverage \(EvaluationReport.pct(a.overall.coverage)))") }
        if let rho = report.similarity?.spearman { parts.append("WordSim ρ \(String(format: "%.3f", rho))") }
        if let q = report.sanity.queenInKingTop5 { parts.append("queen in king's top 5: \(q ? "yes" : "no")") }
        var metrics = report.metrics
        metrics["evaluate_seconds"] = .number(report.seconds)
        return StageOutcome(summary: parts.joined(separator: ", "), metrics: metrics)
    }

    static func writeReport(_ report: EvaluationReport, to w: ArtifactWriter) throws {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        var data = try e.encode(report)
        try data.withUnsafeMutableBytes { try w.write(UnsafeRawBufferPointer($0)) }
    }

    public static func readReport(_ reader: ArtifactReader) throws -> EvaluationReport {
        try JSONDecoder().decode(EvaluationReport.self, from: reader.payloadData())
    }
}
