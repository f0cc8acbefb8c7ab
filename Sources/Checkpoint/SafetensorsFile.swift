import Tensor

/// Storage types a safetensors header may name.
public enum SafetensorsDType: String, Sendable, CaseIterable {
    case F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL, U16, U32, U64, F8_E4M3, F8_E5M2

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .F64, .I64, .U64: return 8
        case .F32, .I32, .U32: return 4
        case .F16, .BF16, .I16, .U16: return 2
        case .I8, .U8, .BOOL, .F8_E4M3, .F8_E5M2: return 1
        }
    }
}

/// One tensor entry of a safetensors header; `range` is relative to the file start (validated).
public struct SafetensorsTensorInfo: Sendable, Equatable {
    /// Tensor name as stored.
    public var name: String
    /// Storage type.
    public var dtype: SafetensorsDType
    /// Shape, outermost first.
    public var shape: [Int]
    /// Byte range of the data within the file.
    public var range: Range<Int>
}

/// A memory-mapped `.safetensors` file: 8-byte little-endian header length, JSON header, data.
/// Opening validates every entry (dtype known, shape × size == byte length, range inside the file).
public struct SafetensorsFile: Sendable {
    /// The file path (for messages).
    public let path: String
    /// The mapping the tensors are read from.
    public let file: MappedFile
    /// Tensor entries in header order (sorted by offset).
    public let tensors: [SafetensorsTensorInfo]
    /// The optional `__metadata__` string map.
    public let metadata: [String: String]

    /// Opens and validates `path`.
    public init(path: String) throws {
        try self.init(file: MappedFile(path: path))
    }

    /// Validates an already mapped file.
    public init(file: MappedFile) throws {
        self.file = file
        self.path = file.path
        var r = ByteReader(file.bytes, path: path)
        let n64 = try r.read(UInt64.self, "safetensors header length")
        guard n64 <= UInt64(r.remaining) else {
            throw CheckpointError.truncated(path: path, what: "safetensors header (\(n64) bytes declared, \(r.remaining) present)")
        }
        let n = Int(n64)
        let dataStart = 8 + n
        let dataCount = file.bytes.count - dataStart
        let header = try JSONValue.parse(UnsafeRawBufferPointer(rebasing: file.bytes[8..<dataStart]), path: path, what: "safetensors header")
        guard let obj = header.objectValue else { throw CheckpointError.malformed(path: path, what: "safetensors header is not a JSON object") }
        var meta: [String: String] = [:]
        var infos: [SafetensorsTensorInfo] = []
        for (name, entry) in obj {
            if name == "__metadata__" {
                guard let m = entry.objectValue else { throw CheckpointError.malformed(path: path, what: "__metadata__ is not an object") }
                for (k, v) in m { meta[k] = v.stringValue ?? "" }
                continue
            }
            guard let dtypeName = entry["dtype"]?.stringValue else {
                throw CheckpointError.malformed(path: path, what: "tensor \(name) has no dtype")
            }
            guard let dtype = SafetensorsDType(rawValue: dtypeName) else {
                throw CheckpointError.unsupportedType(path: path, tensor: name, type: dtypeName)
            }
            guard let shapeJ = entry["shape"]?.arrayValue, shapeJ.count <= 8 else {
                throw CheckpointError.malformed(path: path, what: "tensor \(name) has no valid shape")
            }
            let shape = shapeJ.compactMap { $0.intValue }
            guard shape.count == shapeJ.count, shape.allSatisfy({ $0 >= 0 }) else {
                throw CheckpointError.malformed(path: path, what: "tensor \(name) shape \(shapeJ) has non-integer or negative dims")
            }
            guard let offs = entry["data_offsets"]?.arrayValue, offs.count == 2,
                  let b = offs[0].intValue, let e = offs[1].intValue else {
                throw CheckpointError.malformed(path: path, what: "tensor \(name) has no valid data_offsets")
            }
            guard let count = checkedProduct(shape), let bytes = checkedMul(count, dtype.size) else {
                throw CheckpointError.outOfRange(path: path, what: "tensor \(name) shape \(shape) overflows")
            }
            guard b >= 0, e >= b, e <= dataCount, e - b == bytes else {
                throw CheckpointError.outOfRange(path: path,
                    what: "tensor \(name) data_offsets [\(b), \(e)] do not fit \(bytes) bytes inside \(dataCount) data bytes")
            }
            infos.append(SafetensorsTensorInfo(name: name, dtype: dtype, shape: shape, range: (dataStart + b)..<(dataStart + e)))
        }
        infos.sort { ($0.range.lowerBound, $0.name) < ($1.range.lowerBound, $1.name) }
        self.tensors = infos
        self.metadata = meta
    }

    /// The entry called `name`.
    public func info(_ name: String) -> SafetensorsTensorInfo? { tensors.first { $0.name == name } }

    /// Converts one entry to fp32 (F32, F16, BF16, F64 supported).
    public func tensor(_ info: SafetensorsTensorInfo) throws -> Tensor {
        let src = UnsafeRawBufferPointer(rebasing: file.bytes[info.range])
        let n = info.range.count / info.dtype.size
        let data: [Float]
        switch info.dtype {
        case .F32:
            data = [Float](unsafeUninitializedCapacity: n) { buf, c in
                if n > 0 { UnsafeMutableRawBufferPointer(buf).copyMemory(from: src) }
                c = n
            }
        case .F16:
            data = [Float](unsafeUninitializedCapacity: n) { buf, c in
                for i in 0..<n { buf[i] = halfToFloat(UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
                c = n
            }
        case .BF16:
            data = [Float](unsafeUninitializedCapacity: n) { buf, c in
                for i in 0..<n { buf[i] = bfloat16ToFloat(UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
                c = n
            }
        case .F64:
            data = [Float](unsafeUninitializedCapacity: n) { buf, c in
                for i in 0..<n { buf[i] = Float(Double(bitPattern: UInt64(littleEndian: src.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)))) }
                c = n
            }
        default:
            throw CheckpointError.unsupportedType(path: path, tensor: info.name, type: info.dtype.rawValue)
        }
        return Tensor(shape: info.shape, data: data)
    }

    /// Every tensor as fp32, by name.
    public func allTensors() throws -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for info in tensors { out[info.name] = try tensor(info) }
        return out
    }
}
