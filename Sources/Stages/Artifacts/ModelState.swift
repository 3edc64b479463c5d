import Foundation
import Pipeline

/// The `model` artifact: both tables (input vectors = syn0, output vectors = syn1neg), the
/// training configuration and the epochs done, i.e. what is needed to continue training.
///
/// Payload (format 1):
/// ```
/// UInt64 vocabularySize, UInt64 dimension, UInt64 epochsTrained
/// strings: [configuration JSON]
/// Float32 input[vocabularySize × dimension]
/// Float32 output[vocabularySize × dimension], pad to 8
/// ```
/// Its arrays are read in place from the memory-mapped artifact (`MappedArray`).
public struct ModelState: Sendable {
    public static let kind = ArtifactKind.model
    public static let formatVersion: UInt16 = 1

    public let vocabularySize: Int
    public let dimension: Int
    public let epochsTrained: Int
    public let configurationJSON: String
    public let inputVectors: MappedArray<Float>
    public let outputVectors: MappedArray<Float>
    let reader: ArtifactReader

    public init(_ reader: ArtifactReader) throws {
        self.reader = reader
        var c = reader.cursor()
        vocabularySize = try c.readInt("vocabulary size")
        dimension = try c.readInt("dimension")
        epochsTrained = try c.readInt("epochs")
        let configuration = try c.readStrings("configuration")
        guard configuration.count == 1 else {
            throw ArtifactError.malformed(file: reader.path, detail: "\(configuration.count) configuration texts, expected 1")
        }
        configurationJSON = configuration[0]
        inputVectors = try c.readArray(Float.self, count: try c.product(vocabularySize, dimension, "input vectors"), "input vectors")
        outputVectors = try c.readArray(Float.self, count: try c.product(vocabularySize, dimension, "output vectors"), "output vectors")
    }

    public static func write(to w: ArtifactWriter, model: EmbeddingModel, configuration: TrainingConfiguration) throws {
        try w.write(UInt64(model.vocabularySize))
        try w.write(UInt64(model.dimension))
        try w.write(UInt64(model.epochsTrained))
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        try w.write(strings: [String(decoding: try e.encode(configuration), as: UTF8.self)])
        try model.inputVectors.withUnsafeBufferPointer { try w.write(array: $0) }
        try model.outputVectors.withUnsafeBufferPointer { try w.write(array: $0) }
        try w.align()
    }
}
