/// One entry of a GGUF tensor table.
public struct GGUFTensorInfo: Sendable, Equatable {
    /// GGUF name, e.g. `blk.0.attn_q.weight`.
    public var name: String
    /// Dimensions as stored (innermost first), e.g. `[576, 1536]` for a (1536, 576) matrix.
    public var dims: [Int]
    /// Storage type.
    public var type: GGMLType
    /// Offset relative to the start of the data section.
    public var offset: Int
    /// Byte range in the file (validated when the type is known; empty otherwise).
    public var range: Range<Int>
    /// PyTorch-order shape (outermost first).
    public var shape: [Int] { dims.reversed() }
    /// Number of elements.
    public var count: Int { dims.reduce(1, *) }
}

/// A memory-mapped GGUF (v2/v3) file: metadata, tensor table and data section. Opening validates the
/// header, every metadata value and every tensor's byte range; nothing is dequantised until asked.
public struct GGUFFile: Sendable {
    /// "GGUF" read as a little-endian UInt32.
    public static let magic: UInt32 = 0x4655_4747
    /// The file path (for messages).
    public let path: String
    /// The mapping the tensors are read from.
    public let file: MappedFile
    /// GGUF format version (2 or 3).
    public let version: Int
    /// Metadata in file order.
    public let metadata: [(key: String, value: GGUFValue)]
    /// The tensor table in file order.
    public let tensors: [GGUFTensorInfo]
    /// `general.alignment` (default 32).
    public let alignment: Int
    /// Absolute offset of the data section.
    public let dataOffset: Int

    /// Opens and validates `path`.
    public init(path: String) throws { try self.init(file: MappedFile(path: path)) }

    /// Validates an already mapped file.
    public init(file: MappedFile) throws {
        self.file = file
        let path = file.path
        self.path = path
        var r = ByteReader(file.bytes, path: path)
        let m = try r.read(UInt32.self, "GGUF magic")
        guard m == Self.magic else {
            let found = file.bytes.prefix(4).map { String($0, radix: 16) }.joined(separator: " ")
            throw CheckpointError.badMagic(path: path, expected: "GGUF", found: found)
        }
        let v = try r.read(UInt32.self, "GGUF version")
        guard v == 2 || v == 3 else { throw CheckpointError.unsupportedVersion(path: path, version: Int(v), supported: [2, 3]) }
        version = Int(v)
        let nTensors = try r.read(UInt64.self, "tensor count")
        let nKV = try r.read(UInt64.self, "metadata count")
        // Each KV needs >= 12 bytes, each tensor info >= 24: reject counts the file cannot hold.
        guard nKV <= UInt64(r.remaining / 12), nTensors <= UInt64(r.remaining / 24) else {
            throw CheckpointError.outOfRange(path: path, what: "\(nKV) metadata entries / \(nTensors) tensors cannot fit in \(file.bytes.count) bytes")
        }
        var meta: [(key: String, value: GGUFValue)] = []
        meta.reserveCapacity(Int(nKV))
        for i in 0..<Int(nKV) {
            let key = try Self.readString(&r, "metadata key #\(i)")
            let type = try r.read(UInt32.self, "type of \(key)")
            meta.append((key, try Self.readValue(&r, type: type, key: key, depth: 0)))
        }
        var align = 32
        if let a = meta.first(where: { $0.key == "general.alignment" })?.value {
            guard let ai = a.intValue, ai > 0, ai <= 1 << 20, ai & (ai - 1) == 0 else {
                throw CheckpointError.malformed(path: path, what: "general.alignment \(a) is not a power of two")
            }
            align = ai
        }
        var infos: [GGUFTensorInfo] = []
        infos.reserveCapacity(Int(nTensors))
        for i in 0..<Int(nTensors) {
            let name = try Self.readString(&r, "tensor name #\(i)")
            let nd = try r.read(UInt32.self, "dimension count of \(name)")
            guard nd <= 8 else { throw CheckpointError.malformed(path: path, what: "tensor \(name) has \(nd) dimensions") }
            var dims: [Int] = []
            for _ in 0..<nd {
                let d = try r.read(UInt64.self, "dimensions of \(name)")
                guard d <= UInt64(Int32.max) else { throw CheckpointError.outOfRange(path: path, what: "tensor \(name) dimension \(d)") }
                dims.append(Int(d))
            }
            let type = GGMLType(rawValue: try r.read(UInt32.self, "type of \(name)"))
            let off = try r.read(UInt64.self, "offset of \(name)")
            guard off <= UInt64(Int.max / 2) else { throw CheckpointError.outOfRange(path: path, what: "tensor \(name) offset \(off)") }
            guard checkedProduct(dims) != nil else { throw CheckpointError.outOfRange(path: path, what: "tensor \(name) dims \(dims) overflow") }
            infos.append(GGUFTensorInfo(name: name, dims: dims, type: type, offset: Int(off), range: 0..<0))
        }
        let (start, o) = r.offset.addingReportingOverflow(align - 1)
        guard !o else { throw CheckpointError.outOfRange(path: path, what: "data offset") }
        let dataStart = start / align * align
        dataOffset = dataStart
        alignment = align
        for i in infos.indices {
            let t = infos[i]
            guard t.type.blockSize != nil else { continue } // unknown type: listed, refused at dequantisation
            guard let bytes = t.type.byteCount(elements: t.count) else {
                throw CheckpointError.outOfRange(path: path, what: "tensor \(t.name): \(t.count) elements are not whole \(t.type) blocks")
            }
            guard let lo = checkedAdd(dataStart, t.offset), let hi = checkedAdd(lo, bytes), hi <= file.bytes.count else {
                throw CheckpointError.outOfRange(path: path,
                    what: "tensor \(t.name) (\(t.type), dims \(t.dims)) at data offset \(t.offset) runs past the end of the file (\(file.bytes.count) bytes)")
            }
            infos[i].range = lo..<hi
        }
        tensors = infos
        metadata = meta
    }

    /// The metadata value for `key`.
    public subscript(key: String) -> GGUFValue? { metadata.first { $0.key == key }?.value }

    /// The tensor info called `name` (GGUF name).
    public func info(_ name: String) -> GGUFTensorInfo? { tensors.first { $0.name == name } }

    static func readString(_ r: inout ByteReader, _ what: String) throws -> String {
        let n = try r.read(UInt64.self, "length of \(what)")
        guard n <= UInt64(r.remaining) else { throw CheckpointError.truncated(path: r.path, what: what) }
        return try r.readString(count: Int(n), what)
    }

    static func readValue(_ r: inout ByteReader, type: UInt32, key: String, depth: Int) throws -> GGUFValue {
        switch type {
        case 0: return .uint8(try r.read(UInt8.self, key))
        case 1: return .int8(try r.read(Int8.self, key))
        case 2: return .uint16(try r.read(UInt16.self, key))
        case 3: return .int16(try r.read(Int16.self, key))
        case 4: return .uint32(try r.read(UInt32.self, key))
        case 5: return .int32(try r.read(Int32.self, key))
        case 6: return .float32(try r.readF32(key))
        case 7:
            let b = try r.read(UInt8.self, key)
            guard b <= 1 else { throw CheckpointError.malformed(path: r.path, what: "metadata \(key): bool byte \(b)") }
            return .bool(b == 1)
        case 8: return .string(try readString(&r, key))
        case 9:
            guard depth < 8 else { throw CheckpointError.malformed(path: r.path, what: "metadata \(key): arrays nested too deeply") }
            let et = try r.read(UInt32.self, "array type of \(key)")
            let n = try r.read(UInt64.self, "array length of \(key)")
            // Every element takes at least one byte (strings and arrays at least eight).
            guard n <= UInt64(r.remaining) else { throw CheckpointError.truncated(path: r.path, what: "array \(key) of \(n) items") }
            var a: [GGUFValue] = []
            a.reserveCapacity(Int(min(n, 1 << 16)))
            for _ in 0..<Int(n) { a.append(try readValue(&r, type: et, key: key, depth: depth + 1)) }
            return .array(a)
        case 10: return .uint64(try r.read(UInt64.self, key))
        case 11: return .int64(try r.read(Int64.self, key))
        case 12: return .float64(try r.readF64(key))
        default: throw CheckpointError.malformed(path: r.path, what: "metadata \(key) has unknown value type \(type)")
        }
    }
}
