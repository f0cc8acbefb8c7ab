/// One GGUF metadata value (arrays may nest).
public indirect enum GGUFValue: Sendable, Equatable, CustomStringConvertible {
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16), uint32(UInt32), int32(Int32)
    case float32(Float), bool(Bool), string(String), array([GGUFValue])
    case uint64(UInt64), int64(Int64), float64(Double)

    /// Integer value of any integer case (nil when out of `Int` range or not an integer).
    public var intValue: Int? {
        switch self {
        case .uint8(let v): return Int(v)
        case .int8(let v): return Int(v)
        case .uint16(let v): return Int(v)
        case .int16(let v): return Int(v)
        case .uint32(let v): return Int(v)
        case .int32(let v): return Int(v)
        case .uint64(let v): return Int(exactly: v)
        case .int64(let v): return Int(v)
        default: return nil
        }
    }

    /// Floating value of any numeric case.
    public var doubleValue: Double? {
        switch self {
        case .float32(let v): return Double(v)
        case .float64(let v): return v
        default: return intValue.map(Double.init)
        }
    }

    /// The string, for a string.
    public var stringValue: String? { if case .string(let s) = self { return s }; return nil }
    /// The boolean, for a boolean.
    public var boolValue: Bool? { if case .bool(let b) = self { return b }; return nil }
    /// The elements, for an array.
    public var arrayValue: [GGUFValue]? { if case .array(let a) = self { return a }; return nil }

    /// Short rendering for `inspect`: long arrays are summarised.
    public var description: String {
        switch self {
        case .string(let s): return s.count > 80 ? "\"\(s.prefix(77))...\"" : "\"\(s)\""
        case .array(let a):
            let head = a.prefix(4).map(\.description).joined(separator: ", ")
            return a.count > 4 ? "[\(head), ... (\(a.count) items)]" : "[\(head)]"
        case .bool(let b): return String(b)
        case .float32(let v): return String(v)
        case .float64(let v): return String(v)
        default: return intValue.map(String.init) ?? "?"
        }
    }
}
