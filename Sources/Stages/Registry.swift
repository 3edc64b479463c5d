import Pipeline

/// Every word2vec stage type, for the engine's registry.
public enum Word2VecStages {
    public static let all: [any Stage.Type] = [
        UnzipStage.self, ReadTextStage.self, TokenizeStage.self, BuildVocabStage.self, SubsampleStage.self,
        TrainStage.self, TrainMoreStage.self, EvaluateStage.self, ExportStage.self,
        CooccurStage.self, GloVeStage.self, PPMISVDStage.self, MapStage.self,
    ]
    public static let registry = StageRegistry(all)
}
