import Foundation
@testable import Checkpoint

/// Builds small GGUF files in tests: metadata values and F32 tensors (dims innermost first).
struct GGUFBuilder {
    var version: UInt32 = 3
    var kv: [(String, GGUFValue)] = []
    var tensors: [(name: String, dims: [Int], type: UInt32, data: [UInt8])] = []

    mutating func f32Tensor(_ name: String, dims: [Int], values: [Float]? = nil) {
        let n = dims.reduce(1, *)
        let v = values ?? (0..<n).map { Float($0 % 7) * 0.5 - 1 }
        tensors.append((name, dims, 0, v.withUnsafeBytes { Array($0) }))
    }

    static func typeID(_ v: GGUFValue) -> UInt32 {
        switch v {
        case .uint8: 0; case .int8: 1; case .uint16: 2; case .int16: 3; case .uint32: 4; case .int32: 5
        case .float32: 6; case .bool: 7; case .string: 8; case .array: 9; case .uint64: 10; case .int64: 11; case .float64: 12
        }
    }

    private static func put<T: FixedWidthInteger>(_ out: inout [UInt8], _ v: T) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
    private static func putString(_ out: inout [UInt8], _ s: String) { put(&out, UInt64(s.utf8.count)); out.append(contentsOf: s.utf8) }

    private static func putValue(_ out: inout [UInt8], _ v: GGUFValue) {
        switch v {
        case .uint8(let x): put(&out, x)
        case .int8(let x): put(&out, x)
        case .uint16(let x): put(&out, x)
        case .int16(let x): put(&out, x)
        case .uint32(let x): put(&out, x)
        case .int32(let x): put(&out, x)
        case .float32(let x): put(&out, x.bitPattern)
        case .bool(let b): out.append(b ? 1 : 0)
        case .string(let s): putString(&out, s)
        case .array(let a):
            put(&out, a.first.map(typeID) ?? 4); put(&out, UInt64(a.count))
            for e in a { putValue(&out, e) }
        case .uint64(let x): put(&out, x)
        case .int64(let x): put(&out, x)
        case .float64(let x): put(&out, x.bitPattern)
        }
    }

    func bytes() -> [UInt8] {
        var out: [UInt8] = []
        Self.put(&out, GGUFFile.magic); Self.put(&out, version)
        Self.put(&out, UInt64(tensors.count)); Self.put(&out, UInt64(kv.count))
        for (k, v) in kv { Self.putString(&out, k); Self.put(&out, Self.typeID(v)); Self.putValue(&out, v) }
        var offset = 0
        for t in tensors {
            Self.putString(&out, t.name); Self.put(&out, UInt32(t.dims.count))
            for d in t.dims { Self.put(&out, UInt64(d)) }
            Self.put(&out, t.type); Self.put(&out, UInt64(offset))
            offset += (t.data.count + 31) / 32 * 32
        }
        while out.count % 32 != 0 { out.append(0) }
        for t in tensors {
            out.append(contentsOf: t.data)
            while out.count % 32 != 0 { out.append(0) }
        }
        return out
    }

    /// A complete tiny llama: hidden 8, 2 heads of 4, 1 KV head, ffn 12, 1 layer, vocab 5, tied.
    static func tinyLlama() -> GGUFBuilder {
        var b = GGUFBuilder()
        b.kv = [("general.architecture", .string("llama")), ("general.alignment", .uint32(32)),
                ("llama.context_length", .uint32(64)), ("llama.embedding_length", .uint32(8)),
                ("llama.block_count", .uint32(1)), ("llama.feed_forward_length", .uint32(12)),
                ("llama.attention.head_count", .uint32(2)), ("llama.attention.head_count_kv", .uint32(1)),
                ("llama.rope.freq_base", .float32(10000)), ("llama.attention.layer_norm_rms_epsilon", .float32(1e-5)),
                ("tokenizer.ggml.model", .string("gpt2")), ("tokenizer.ggml.pre", .string("smollm")),
                ("tokenizer.ggml.tokens", .array(["<s>", "a", "b", "ab", "Ġ"].map { .string($0) })),
                ("tokenizer.ggml.token_type", .array([3, 1, 1, 1, 1].map { .int32($0) })),
                ("tokenizer.ggml.merges", .array([.string("a b")])), ("tokenizer.ggml.eos_token_id", .uint32(0)),
                ("nested", .array([.array([.uint8(1), .uint8(2)]), .array([.uint8(3)])]))]
        b.f32Tensor("token_embd.weight", dims: [8, 5])
        b.f32Tensor("output_norm.weight", dims: [8])
        b.f32Tensor("blk.0.attn_norm.weight", dims: [8])
        b.f32Tensor("blk.0.attn_q.weight", dims: [8, 8])
        b.f32Tensor("blk.0.attn_k.weight", dims: [8, 4])
        b.f32Tensor("blk.0.attn_v.weight", dims: [8, 4])
        b.f32Tensor("blk.0.attn_output.weight", dims: [8, 8])
        b.f32Tensor("blk.0.ffn_norm.weight", dims: [8])
        b.f32Tensor("blk.0.ffn_gate.weight", dims: [8, 12])
        b.f32Tensor("blk.0.ffn_up.weight", dims: [8, 12])
        b.f32Tensor("blk.0.ffn_down.weight", dims: [12, 8])
        return b
    }
}
