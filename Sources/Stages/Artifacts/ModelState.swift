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
/// `@unchecked Sendable`: its buffers point into the read-only mapping its `reader` keeps alive.
public struct ModelState: @unchecked Sendable {
    public static let kind = ArtifactKind.model
    public static let formatVersion: UInt16 = 1

    public let vocabularySize: Int
    public let dimension: Int
    public let epochsTrained: Int
    public let configurationJSON: String
    public let inputVectors: UnsafeBufferPointer<Float>
    public let outputVectors: UnsafeBufferPointer<Float>
    let reader: ArtifactReader

    public init(_ reader: ArtifactReader) throws {
        self.reader = reader
        var c = reader.cursor()
        vocabularySize = Int(try c.read(UInt64.self, "vocabulary size"))
        dimension = Int(try c.read(UInt64.self, "dimension"))
        epochsTrained = Int(try c.read(UInt64.self, "epochs"))
        configurationJSON = try c.readStrings("configuration")[0]
        inputVectors = try c.readArray(Float.self, count: vocabularySize * dimension, "input vectors")
        outputVectors = try c.readArray(Float.self, count: vocabularySize * dimension, "output vectors")
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
