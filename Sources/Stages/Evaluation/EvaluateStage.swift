import Foundation
import Pipeline

/// evaluate: analogies (3CosAdd, 3CosMul), word similarity, neighbours, the lab's sanity bar.
public enum EvaluateStage: Stage {
    public static let typeName = "evaluate"
    public static let summary = "Score embeddings: Google analogies (3CosAdd/3CosMul), WordSim-353 Spearman, nearest neighbours, king/queen sanity bar"
    public static let implementationVersion = 1
    public static let parameters: [ParameterSpec] = [
        ParameterSpec("analogies", .inputFile, default: .string("../data/eval/questions-words.txt"), help: "analogy questions in the Google format (null to skip)"),
        ParameterSpec("similarity", .inputFile, default: .string("../data/eval/wordsim353.tsv"), help: "`word1 word2 score` pairs (null to skip)"),
        ParameterSpec("restrict_vocab", .integer(1...Int64.max), default: .integer(30000), help: "answer analogies among the N most frequent words (word2vec.c compute-accuracy uses 30000)"),
        ParameterSpec("probes", .stringList, default: .array(["king", "queen", "paris", "computer"].map { .string($0) }), help: "words whose nearest neighbours the report lists"),
        ParameterSpec("k", .integer(1...1000), default: .integer(10), help: "neighbours per probe"),
    ]
    public static let inputs = [InputSpec("embeddings", kind: ArtifactKind.embeddings)]
    public static let outputs = [OutputSpec("report", kind: ArtifactKind.report)]
    public static let reportFormatVersion: UInt16 = 1

    public static func run(_ context: StageContext) throws -> StageOutcome {
        let table = try EmbeddingTable(try context.input("embeddings", maxVersion: EmbeddingTable.formatVersion))
        let vectors = try table.wordVectors()
        let analogies = try context.files["analogies"].map { try AnalogyDataset.load($0.path) }
        let similarity = try context.files["similarity"].map { try SimilarityDataset.load($0.path) }
        let report = EvaluationReport.evaluate(vectors, source: "experiment \(context.experimentName), stage \(context.stageID)",
                                               model: table.provenance, analogies: analogies, similarity: similarity,
                                               restrictVocabulary: context.parameters.int("restrict_vocab"),
                                               probes: context.parameters.strings("probes"), k: context.parameters.int("k"))
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
        try JSONDecoder().decode(EvaluationReport.self, from: Data(reader.payload))
    }
}
