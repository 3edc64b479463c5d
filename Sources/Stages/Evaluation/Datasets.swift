import Pipeline

/// The evaluation sets the product carries, used when an experiment or `w2v-pipe evaluate`
/// names none. Their bytes are those of `data/eval/` (a test checks it), so stage keys — which
/// use the content digest — are the same as when those files were named by path.
public enum BuiltinDatasets {
    /// The Google analogy set (19,544 questions in 14 sections).
    public static let analogies = BuiltinFile(name: "questions-words.txt", text: BuiltinDatasetText.googleAnalogies)
    /// WordSim-353 (353 pairs with mean human scores).
    public static let wordSim353 = BuiltinFile(name: "wordsim353.tsv", text: BuiltinDatasetText.wordSim353)

    /// Loads an analogy file, built-in or on disk.
    public static func analogies(_ file: InputFile) throws -> AnalogyDataset {
        if let b = file.builtin { return try AnalogyDataset.parse(b.text, source: b.reference) }
        return try AnalogyDataset.load(file.url?.path ?? file.path)
    }

    /// The analogy file at `path`, or the built-in set when there is none.
    public static func analogies(at path: String?) throws -> AnalogyDataset {
        try path.map { try AnalogyDataset.load($0) } ?? analogies(InputFile(analogies))
    }

    /// The word-similarity file at `path`, or the built-in WordSim-353 when there is none.
    public static func similarity(at path: String?) throws -> SimilarityDataset {
        try path.map { try SimilarityDataset.load($0) } ?? similarity(InputFile(wordSim353))
    }

    /// Loads a word-similarity file, built-in or on disk.
    public static func similarity(_ file: InputFile) throws -> SimilarityDataset {
        if let b = file.builtin { return try SimilarityDataset.parse(b.text, source: b.reference) }
        return try SimilarityDataset.load(file.url?.path ?? file.path)
    }
}
