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
}
