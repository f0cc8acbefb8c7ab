/// A ggml tensor storage type (the `type` field of a GGUF tensor info).
public struct GGMLType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let F32 = GGMLType(rawValue: 0), F16 = GGMLType(rawValue: 1)
    public static let Q4_0 = GGMLType(rawValue: 2), Q4_1 = GGMLType(rawValue: 3)
    public static let Q5_0 = GGMLType(rawValue: 6), Q5_1 = GGMLType(rawValue: 7)
    public static let Q8_0 = GGMLType(rawValue: 8), Q8_1 = GGMLType(rawValue: 9)
    public static let Q2_K = GGMLType(rawValue: 10), Q3_K = GGMLType(rawValue: 11)
    public static let Q4_K = GGMLType(rawValue: 12), Q5_K = GGMLType(rawValue: 13)
    public static let Q6_K = GGMLType(rawValue: 14), Q8_K = GGMLType(rawValue: 15)
    public static let I8 = GGMLType(rawValue: 24), I16 = GGMLType(rawValue: 25)
    public static let I32 = GGMLType(rawValue: 26), I64 = GGMLType(rawValue: 27)
    public static let F64 = GGMLType(rawValue: 28), BF16 = GGMLType(rawValue: 30)

    /// (name, elements per block, bytes per block) of the types whose layout is known.
    private static let layouts: [UInt32: (String, Int, Int)] = [
        0: ("F32", 1, 4), 1: ("F16", 1, 2), 2: ("Q4_0", 32, 18), 3: ("Q4_1", 32, 20),
        6: ("Q5_0", 32, 22), 7: ("Q5_1", 32, 24), 8: ("Q8_0", 32, 34), 9: ("Q8_1", 32, 36),
        10: ("Q2_K", 256, 84), 11: ("Q3_K", 256, 110), 12: ("Q4_K", 256, 144), 13: ("Q5_K", 256, 176),
        14: ("Q6_K", 256, 210), 15: ("Q8_K", 256, 292), 24: ("I8", 1, 1), 25: ("I16", 1, 2),
        26: ("I32", 1, 4), 27: ("I64", 1, 8), 28: ("F64", 1, 8), 30: ("BF16", 1, 2),
    ]

    /// Types `dequantize` can turn into fp32.
    public static let dequantizable: Set<GGMLType> = [.F32, .F16, .BF16, .Q4_0, .Q4_1, .Q5_0, .Q5_1, .Q8_0, .Q4_K, .Q5_K, .Q6_K]

    /// The ggml name, e.g. `Q4_1`, or `type#N` when unknown.
    public var name: String { Self.layouts[rawValue]?.0 ?? "type#\(rawValue)" }
    public var description: String { name }
    /// Elements per block (nil when the layout is unknown).
    public var blockSize: Int? { Self.layouts[rawValue]?.1 }
    /// Bytes per block (nil when the layout is unknown).
    public var blockBytes: Int? { Self.layouts[rawValue]?.2 }

    /// Bytes needed for `count` elements, or nil (unknown type, count not a whole number of blocks, overflow).
    public func byteCount(elements count: Int) -> Int? {
        guard let bs = blockSize, let bb = blockBytes, count >= 0, count % bs == 0 else { return nil }
        return checkedMul(count / bs, bb)
    }
}
