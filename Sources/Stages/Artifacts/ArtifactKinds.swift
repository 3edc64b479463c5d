import Pipeline

/// The artifact kinds the word2vec stages exchange, with the newest format version of each
/// that this build writes and reads. Bump a version when its payload layout changes.
public enum ArtifactKind {
    public static let text = "text"
    public static let tokens = "tokens"
    public static let vocab = "vocab"
    public static let subsample = "subsample"
    public static let model = "model"
    public static let embeddings = "embeddings"
    public static let report = "report"
    public static let export = "export"
    public static let cooccur = "cooccur"
    public static let map = "map"
}

extension TokenStream: ArtifactType { public static var artifactKind: String { ArtifactKind.tokens } }
extension Vocabulary: ArtifactType { public static var artifactKind: String { ArtifactKind.vocab } }
extension SubsampleTable: ArtifactType { public static var artifactKind: String { ArtifactKind.subsample } }
extension ModelState: ArtifactType { public static var artifactKind: String { ArtifactKind.model } }
extension EmbeddingTable: ArtifactType { public static var artifactKind: String { ArtifactKind.embeddings } }
extension CooccurrenceMatrix: ArtifactType { public static var artifactKind: String { ArtifactKind.cooccur } }
extension WordMap: ArtifactType { public static var artifactKind: String { ArtifactKind.map } }

/// The input slots the word2vec stages share, typed by the artifact they carry.
public enum Slots {
    public static let text = Input<CorpusText>("text")
    public static let tokens = Input<TokenStream>("tokens")
    public static let vocab = Input<Vocabulary>("vocab")
    public static let subsample = Input<SubsampleTable>("subsample")
    public static let model = Input<ModelState>("model")
    public static let embeddings = Input<EmbeddingTable>("embeddings")
    public static let cooccur = Input<CooccurrenceMatrix>("cooccur")
    public static let map = Input<WordMap>("map")
}
