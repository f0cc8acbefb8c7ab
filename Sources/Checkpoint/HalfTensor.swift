import Tensor

/// A tensor held in 16 bits (bf16 or IEEE half): what the loader keeps of a large model's prunable weights
/// when their fp32 copy would not fit the memory plan. Compute materialises fp32 one matrix at a time.
public struct HalfTensor: Sendable, Equatable {
    /// The 16-bit format.
    public enum Kind: String, Codable, Sendable, CaseIterable {
        case bf16, f16
        /// The safetensors storage type of this format.
        public var storage: SafetensorsWriter.StorageType { self == .bf16 ? .BF16 : .F16 }
    }

    public var shape: [Int]
    public var kind: Kind
    public var bits: [UInt16]
    public var count: Int { bits.count }

    public init(shape: [Int], kind: Kind, bits: [UInt16]) {
        precondition(shape.reduce(1, *) == bits.count, "HalfTensor: shape \(shape) needs \(shape.reduce(1, *)) elements, got \(bits.count)")
        self.shape = shape; self.kind = kind; self.bits = bits
    }

    /// Rounds `values` to `kind` (round to nearest even).
    public init(shape: [Int], kind: Kind, values: [Float]) {
        self.init(shape: shape, kind: kind, bits: HalfTensor.encode(values, kind))
    }

    /// The fp32 values.
    public func floats() -> [Float] { HalfTensor.decode(bits, kind) }

    public static func encode(_ values: [Float], _ kind: Kind) -> [UInt16] {
        [UInt16](unsafeUninitializedCapacity: values.count) { out, n in
            values.withUnsafeBufferPointer { v in
                switch kind {
                case .bf16: for i in 0..<v.count { out[i] = floatToBFloat16(v[i]) }
                case .f16: for i in 0..<v.count { out[i] = floatToHalf(v[i]) }
                }
            }
            n = values.count
        }
    }

    public static func decode(_ bits: [UInt16], _ kind: Kind) -> [Float] {
        [Float](unsafeUninitializedCapacity: bits.count) { out, n in
            bits.withUnsafeBufferPointer { b in decode(b.baseAddress!, into: out.baseAddress!, count: b.count, kind) }
            n = bits.count
        }
    }

    /// Decodes `count` values into `out`.
    public static func decode(_ bits: UnsafePointer<UInt16>, into out: UnsafeMutablePointer<Float>, count: Int, _ kind: Kind) {
        switch kind {
        case .bf16: for i in 0..<count { out[i] = Float(bitPattern: UInt32(bits[i]) << 16) }
        case .f16: for i in 0..<count { out[i] = halfToFloat(bits[i]) }
        }
    }
}
