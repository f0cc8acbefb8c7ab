import Foundation
import Tensor

/// Writes a Llama-family checkpoint as GGUF v3 for llama.cpp: HF names mapped back to llama.cpp's,
/// q/k rows re-permuted (llama / mistral), 1-D tensors in F32 and matrices in the chosen type.
public enum GGUFWriter {
    /// Storage of the 2-D weights (norms and biases are always F32).
    public enum StorageType: String, Sendable { case F32, F16, Q8_0 }

    /// Writes `checkpoint` to `path`. A GGUF tokenizer is copied back into the metadata; a Hugging
    /// Face tokenizer is not converted (the file then has none).
    public static func write(_ checkpoint: LoadedCheckpoint, to path: String, storage: StorageType = .F16,
                             name: String? = nil) throws {
        try writeAtomically(encode(checkpoint, storage: storage, name: name, path: path), to: path)
    }

    /// The file's bytes; `path` is only used in error messages.
    public static func encode(_ ck: LoadedCheckpoint, storage: StorageType = .F16, name: String? = nil,
                              path: String = "model.gguf") throws -> [UInt8] {
        let c = ck.config
        try c.validate(path: path)
        guard c.architecture.isLlamaLike else {
            throw CheckpointError.unsupportedArchitecture(path: path, found: c.architecture.rawValue, supported: GGUFFile.supportedArchitectures)
        }
        // Per-layer widths: llama.cpp's `llama` graph sizes every layer from layer 0, its `deci` graph
        // (same tensors, rope and norms) reads each layer's own head counts and FFN length.
        let hasLayerWidths = c.ffnWidths != nil || c.headCounts != nil || c.kvHeadCounts != nil
        let arch = c.architecture == .qwen2 ? "qwen2" : c.architecture == .gemma3 ? "gemma3" : (hasLayerWidths ? "deci" : "llama")
        let permute = arch != "qwen2" && arch != "gemma3"
        let normPlusOne = GGUFNames.storesNormGainPlusOne(arch)
        var kv = GGUFMetadataWriter()
        kv.add("general.architecture", .string(arch))
        kv.add("general.name", .string(name ?? URL(fileURLWithPath: ck.source).deletingPathExtension().lastPathComponent))
        kv.add("general.alignment", .uint32(32))
        kv.add("general.file_type", .uint32(["F32": 0, "F16": 1, "Q8_0": 7][storage.rawValue]!))
        func perLayer(_ list: [Int]?, _ v: Int) -> GGUFValue { list.map { .array($0.map { .uint32(UInt32($0)) }) } ?? .uint32(UInt32(v)) }
        kv.add("\(arch).context_length", .uint32(UInt32(c.maxPositions)))
        kv.add("\(arch).embedding_length", .uint32(UInt32(c.hiddenSize)))
        kv.add("\(arch).block_count", .uint32(UInt32(c.numLayers)))
        kv.add("\(arch).feed_forward_length", perLayer(c.ffnWidths, c.intermediateSize))
        kv.add("\(arch).attention.head_count", perLayer(c.headCounts, c.numHeads))
        kv.add("\(arch).attention.head_count_kv", perLayer(c.kvHeadCounts, c.numKVHeads))
        kv.add("\(arch).rope.freq_base", .float32(c.ropeTheta))
        kv.add("\(arch).rope.dimension_count", .uint32(UInt32(c.headDim)))
        kv.add("\(arch).attention.layer_norm_rms_epsilon", .float32(c.normEps))
        kv.add("\(arch).vocab_size", .uint32(UInt32(c.vocabSize)))
        if let w = c.slidingWindow { kv.add("\(arch).attention.sliding_window", .uint32(UInt32(w))) }
        if c.headDim * c.numHeads != c.hiddenSize || hasLayerWidths {
            kv.add("\(arch).attention.key_length", .uint32(UInt32(c.headDim)))
            kv.add("\(arch).attention.value_length", .uint32(UInt32(c.headDim)))
        }
        if case .gguf(let t)? = ck.tokenizer { t.addMetadata(to: &kv) }

        // Tensor table and data.
        var infos: [(name: String, dims: [Int], type: GGMLType, data: [UInt8])] = []
        for hf in ck.tensors.keys.sorted(by: tensorOrder) {
            if hf == "lm_head.weight", c.tieWordEmbeddings { continue }
            guard let g = GGUFNames.ggufName(hf, architecture: arch) else {
                throw CheckpointError.invalidConfig(path: path, what: "tensor \(hf) has no llama.cpp name")
            }
            var t = ck.tensors[hf]!
            if t.count == 0 { continue }  // removed attention / FFN of a compact layer: llama.cpp expects none
            if normPlusOne, hf.hasSuffix("norm.weight") { t.data = t.data.map { $0 + 1 } }
            if hasLayerWidths, let layer = layerIndex(hf), layer < c.numLayers, c.heads(layer) == 0,
               hf.hasSuffix(".input_layernorm.weight") { continue }
            if permute, let layer = layerIndex(hf), layer < c.numLayers,
               hf.contains(".self_attn.q_proj.") || hf.contains(".self_attn.k_proj.") {
                let h = hf.contains(".q_proj.") ? c.heads(layer) : c.kvHeads(layer)
                let cols = t.shape.count > 1 ? t.cols : 1
                guard t.count == h * c.headDim * cols else { throw CheckpointError.missingTensor(path: path, name: "\(hf) (shape \(t.shape))") }
                var out = t.data
                t.data.withUnsafeBufferPointer { s in out.withUnsafeMutableBufferPointer { permuteRoPERows($0.baseAddress!, s.baseAddress!, heads: h, headDim: c.headDim, cols: cols) } }
                t.data = out
            }
            let matrix = t.shape.count == 2
            let type: GGMLType = !matrix || storage == .F32 ? .F32 : storage == .F16 ? .F16 : (t.cols % 32 == 0 ? .Q8_0 : .F16)
            infos.append((g, t.shape.reversed(), type, encodeTensor(t.data, as: type)))
        }

        var out = GGUFByteWriter()
        out.u32(GGUFFile.magic); out.u32(3); out.u64(UInt64(infos.count)); out.u64(UInt64(kv.count))
        out.bytes += kv.bytes
        var offset = 0
        for t in infos {
            out.string(t.name); out.u32(UInt32(t.dims.count))
            for d in t.dims { out.u64(UInt64(d)) }
            out.u32(t.type.rawValue); out.u64(UInt64(offset))
            offset += (t.data.count + 31) / 32 * 32
        }
        out.pad(to: 32)
        out.bytes.reserveCapacity(out.bytes.count + offset)
        for t in infos { out.bytes += t.data; out.pad(to: 32) }
        return out.bytes
    }

    /// A GGUF file that holds only a tokenizer (`general.architecture`, `tokenizer.ggml.*`, no tensors): what a
    /// Hugging Face directory carries when its tokenizer cannot be written as `tokenizer.json` (SentencePiece
    /// BPE). Surgeon's readers take it as the directory's tokenizer; transformers reads it with
    /// `AutoTokenizer.from_pretrained(dir, gguf_file="tokenizer.gguf")`.
    public static func encodeTokenizer(_ t: GGUFTokenizerData, architecture: String) -> [UInt8] {
        var kv = GGUFMetadataWriter()
        kv.add("general.architecture", .string(architecture))
        kv.add("general.alignment", .uint32(32))
        t.addMetadata(to: &kv)
        var out = GGUFByteWriter()
        out.u32(GGUFFile.magic); out.u32(3); out.u64(0); out.u64(UInt64(kv.count))
        out.bytes += kv.bytes
        out.pad(to: 32)
        return out.bytes
    }

    static func encodeTensor(_ x: [Float], as type: GGMLType) -> [UInt8] {
        x.withUnsafeBufferPointer { src in
            switch type {
            case .F16:
                return [UInt16](src.map { floatToHalf($0).littleEndian }).withUnsafeBytes { Array($0) }
            case .Q8_0:
                var q = [UInt8](repeating: 0, count: src.count / 32 * 34)
                q.withUnsafeMutableBytes { quantizeQ8_0($0.baseAddress!, src.baseAddress!, blocks: src.count / 32) }
                return q
            default:
                return Array(UnsafeRawBufferPointer(src))
            }
        }
    }

    static func layerIndex(_ hf: String) -> Int? {
        let p = hf.split(separator: ".")
        return p.count > 2 && p[0] == "model" && p[1] == "layers" ? Int(p[2]) : nil
    }

    /// Global tensors first, then layers in numeric order (llama.cpp's usual order).
    static func tensorOrder(_ a: String, _ b: String) -> Bool {
        let (la, lb) = (layerIndex(a) ?? -1, layerIndex(b) ?? -1)
        return la != lb ? la < lb : a < b
    }
}

/// Q8_0 quantisation (ggml's reference: d = max|x|/127, q = round(x/d)). out: (blocks, 34 bytes); x: (blocks·32).
public func quantizeQ8_0(_ out: UnsafeMutableRawPointer, _ x: UnsafePointer<Float>, blocks: Int) {
    for b in 0..<blocks {
        let xb = x + b * 32, o = out + b * 34
        var amax: Float = 0
        for j in 0..<32 where abs(xb[j]) > amax { amax = abs(xb[j]) } // NaN never wins
        let d = amax / 127, id: Float = d != 0 ? 1 / d : 0
        o.storeBytes(of: floatToHalf(d).littleEndian, toByteOffset: 0, as: UInt16.self)
        for j in 0..<32 {
            let v = (xb[j] * id).rounded()
            o.storeBytes(of: v.isNaN ? 0 : Int8(max(-127, min(127, v))), toByteOffset: 2 + j, as: Int8.self)
        }
    }
}
