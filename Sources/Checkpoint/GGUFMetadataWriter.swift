/// Little-endian byte sink for GGUF encoding.
struct GGUFByteWriter {
    var bytes: [UInt8] = []
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func string(_ s: String) { u64(UInt64(s.utf8.count)); bytes += s.utf8 }
    mutating func pad(to a: Int) { while bytes.count % a != 0 { bytes.append(0) } }

    mutating func value(_ v: GGUFValue) {
        switch v {
        case .uint8(let x): bytes.append(x)
        case .int8(let x): bytes.append(UInt8(bitPattern: x))
        case .uint16(let x): withUnsafeBytes(of: x.littleEndian) { bytes += $0 }
        case .int16(let x): withUnsafeBytes(of: x.littleEndian) { bytes += $0 }
        case .uint32(let x): u32(x)
        case .int32(let x): u32(UInt32(bitPattern: x))
        case .float32(let x): u32(x.bitPattern)
        case .bool(let b): bytes.append(b ? 1 : 0)
        case .string(let s): string(s)
        case .array(let a):
            u32(a.first.map(Self.typeID) ?? 4); u64(UInt64(a.count))
            for e in a { value(e) }
        case .uint64(let x): u64(x)
        case .int64(let x): u64(UInt64(bitPattern: x))
        case .float64(let x): u64(x.bitPattern)
        }
    }

    static func typeID(_ v: GGUFValue) -> UInt32 {
        switch v {
        case .uint8: 0; case .int8: 1; case .uint16: 2; case .int16: 3; case .uint32: 4; case .int32: 5
        case .float32: 6; case .bool: 7; case .string: 8; case .array: 9; case .uint64: 10; case .int64: 11; case .float64: 12
        }
    }
}

/// GGUF key/value section being built.
struct GGUFMetadataWriter {
    private var w = GGUFByteWriter()
    private(set) var count = 0
    var bytes: [UInt8] { w.bytes }

    mutating func add(_ key: String, _ v: GGUFValue) {
        w.string(key); w.u32(GGUFByteWriter.typeID(v)); w.value(v); count += 1
    }
}

extension GGUFTokenizerData {
    /// Writes the `tokenizer.ggml.*` keys this value was read from.
    func addMetadata(to kv: inout GGUFMetadataWriter) {
        kv.add("tokenizer.ggml.model", .string(model))
        if let pre { kv.add("tokenizer.ggml.pre", .string(pre)) }
        kv.add("tokenizer.ggml.tokens", .array(tokens.map { .string($0) }))
        if let scores { kv.add("tokenizer.ggml.scores", .array(scores.map { .float32($0) })) }
        if let tokenTypes { kv.add("tokenizer.ggml.token_type", .array(tokenTypes.map { .int32($0) })) }
        if !merges.isEmpty { kv.add("tokenizer.ggml.merges", .array(merges.map { .string($0) })) }
        for (k, v) in [("bos_token_id", bosTokenId), ("eos_token_id", eosTokenId), ("unknown_token_id", unknownTokenId), ("padding_token_id", paddingTokenId)] {
            if let v, v >= 0, v <= Int(UInt32.max) { kv.add("tokenizer.ggml.\(k)", .uint32(UInt32(v))) }
        }
        kv.add("tokenizer.ggml.add_bos_token", .bool(addBOS))
        if let addEOS { kv.add("tokenizer.ggml.add_eos_token", .bool(addEOS)) }
        if let addSpacePrefix { kv.add("tokenizer.ggml.add_space_prefix", .bool(addSpacePrefix)) }
        if let chatTemplate { kv.add("tokenizer.chat_template", .string(chatTemplate)) }
    }
}
