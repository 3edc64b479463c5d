// TEMPORARY until the cooccur branch lands.
public struct CSRMatrix {
    public let size: Int
    public let rowStart: UnsafeBufferPointer<UInt64>
    public let columns: UnsafeBufferPointer<UInt32>
    public let values: UnsafeBufferPointer<Float>
    public init(size: Int, rowStart: UnsafeBufferPointer<UInt64>, columns: UnsafeBufferPointer<UInt32>, values: UnsafeBufferPointer<Float>) {
        self.size = size; self.rowStart = rowStart; self.columns = columns; self.values = values
    }
}
