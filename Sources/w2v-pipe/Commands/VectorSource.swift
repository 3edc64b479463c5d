import ArgumentParser
import Foundation
import Pipeline
import Stages

/// Where query commands get their vectors: an experiment's embeddings artifact, or a file.
struct VectorSource: ParsableArguments {
    @Option(name: [.short, .long], help: ArgumentHelp("Use the embeddings of this experiment (its latest run).", valueName: "experiment.json"))
    var experiment: String?

    @Option(name: .long, help: ArgumentHelp("With --experiment: the stage whose embeddings to use (default: the only one that writes embeddings).", valueName: "id"))
    var stage: String?

    @Option(name: .long, help: ArgumentHelp("With --experiment holding a sweep: the trial (0-based).", valueName: "N"))
    var trial: Int?

    @Option(name: .long, help: ArgumentHelp("A word2vec binary or text file (word2vec.c, gensim, fastText .vec) or a GloVe text file instead of an experiment.", valueName: "file"))
    var vectors: String?

    @Option(name: .long, help: ArgumentHelp("With --vectors: the file's layout, \(VectorFileFormat.allCases.map(\.rawValue).joined(separator: ", ")) (auto tells them apart; a GloVe file of dimension 1 needs glove-text).", valueName: "format"))
    var vectorsFormat = VectorFileFormat.auto.rawValue

    @OptionGroup var storeOptions: StoreOptions

    func validate() throws {
        if (experiment == nil) == (vectors == nil) {
            throw ValidationError("give either --experiment EXP (vectors from a run) or --vectors FILE (a word2vec or GloVe file)")
        }
        guard VectorFileFormat(rawValue: vectorsFormat) != nil else {
            throw ValidationError("unknown --vectors-format \(vectorsFormat); use one of \(VectorFileFormat.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if vectors == nil && vectorsFormat != VectorFileFormat.auto.rawValue {
            throw ValidationError("--vectors-format describes a --vectors FILE; an experiment's vectors need none")
        }
    }

    /// The vectors and a description of where they came from.
    func load() throws -> (WordVectors, String, [String: JSONValue]) {
        if let vectors {
            return (try Word2VecFormat.read(vectors, format: VectorFileFormat(rawValue: vectorsFormat) ?? .auto), vectors, [:])
        }
        var exp = try loadExperiment(experiment!)
        let store = try storeOptions.openStore()
        if !exp.trials.isEmpty {
            guard let trial else {
                throw ValidationError("\(experiment!) is a sweep of \(exp.trials.count) trials; choose one with --trial 0…\(exp.trials.count - 1)")
            }
            exp = try exp.trial(trial, file: experiment!)
        }
        let producers = exp.stages.filter { s in s.type.outputs.contains { $0.kind == ArtifactKind.embeddings } }
        let chosen: StageInstance
        if let stage {
            guard let s = producers.first(where: { $0.id == stage }) else {
                throw ValidationError("experiment \(exp.name) has no stage `\(stage)` that writes embeddings" +
                                      Suggestions.didYouMean(stage, in: producers.map(\.id)))
            }
            chosen = s
        } else {
            guard producers.count == 1 else {
                throw ValidationError(producers.isEmpty ? "experiment \(exp.name) has no stage that writes embeddings (add a train stage)"
                                      : "experiment \(exp.name) has several stages that write embeddings; choose one with --stage: \(producers.map(\.id).joined(separator: ", "))")
            }
            chosen = producers[0]
        }
        guard let ref = store.ref(experiment: exp.name, stage: chosen.id), let out = ref.outputs["embeddings"] else {
            throw ValidationError("stage `\(chosen.id)` of \(exp.name) has not run yet; run `w2v-pipe run \(experiment!)` first")
        }
        let table = try EmbeddingTable(try store.open(out.digest, kind: ArtifactKind.embeddings, maxVersion: EmbeddingTable.formatVersion))
        return (try table.wordVectors(), "experiment \(exp.name), stage \(chosen.id)", table.provenance)
    }
}

func printNeighbours(_ list: [Neighbor]) {
    for (i, n) in list.enumerated() {
        print(String(format: "  %2d. %@ %.4f", i + 1, n.word.padding(toLength: max(16, n.word.count), withPad: " ", startingAt: 0), n.score))
    }
}

/// "unknown word `kng`; did you mean king, kong?"
func unknown(_ word: String, in vectors: WordVectors) -> String {
    let s = vectors.unknownWordSuggestions(word, limit: 5)
    return "`\(word)` is not in the vocabulary" + (s.isEmpty ? "" : "; did you mean " + s.joined(separator: ", ") + "?")
}
