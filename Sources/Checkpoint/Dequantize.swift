// Dequantisation of ggml block formats to fp32. Each kernel is a free function:
// output first, then the raw blocks, then the block count. Layouts follow ggml-common.h.

@inline(__always) func loadHalf(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
    halfToFloat(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
}

/// Converts `count` elements of `type` at `src` into `out`. `type` must be in `GGMLType.dequantizable`
/// and `count` a whole number of its blocks (checked by the caller).
public func dequantize(_ out: UnsafeMutablePointer<Float>, _ src: UnsafeRawPointer, type: GGMLType, count: Int) {
    let blocks = count / (type.blockSize ?? 1)
    switch type {
    case .F32: dequantizeF32(out, src, count: count)
    case .F16: for i in 0..<count { out[i] = loadHalf(src, 2 * i) }
    case .BF16: for i in 0..<count { out[i] = bfloat16ToFloat(UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
    case .Q4_0: dequantizeQ4_0(out, src, blocks: blocks)
    case .Q4_1: dequantizeQ4_1(out, src, blocks: blocks)
    case .Q5_0: dequantizeQ5_0(out, src, blocks: blocks)
    case .Q5_1: dequantizeQ5_1(out, src, blocks: blocks)
    case .Q8_0: dequantizeQ8_0(out, src, blocks: blocks)
    case .Q4_K: dequantizeQ4_K(out, src, blocks: blocks)
    case .Q5_K: dequantizeQ5_K(out, src, blocks: blocks)
    case .Q6_K: dequantizeQ6_K(out, src, blocks: blocks)
    default: preconditionFailure("dequantize: \(type) is not dequantizable")
    }
}

/// F32 (possibly unaligned) copy.
public func dequantizeF32(_ out: UnsafeMutablePointer<Float>, _ src: UnsafeRawPointer, count: Int) {
    UnsafeMutableRawPointer(out).copyMemory(from: src, byteCount: count * 4)
}

/// Q4_0: fp16 d, 16 bytes of nibbles; x = d·(q − 8). Block (32), 18 bytes.
public func dequantizeQ4_0(_ out: UnsafeMutablePointer<Float>, _ src: UnsafeRawPointer, blocks: Int) {
    for b in 0..<blocks {
        let p = src + b * 18, y = out + b * 32
        let d = loadHalf(p, 0)
        let qs = (p + 2).assumingMemoryBound(to: UInt8.self)
        for j in 0..<16 {
            y[j] = Float(Int32(qs[j] & 0xF) - 8) * d
            y[j + 16] = Float(Int32(qs[j] >> 4) - 8) * d
        }
    }
}

/// Q4_1: fp16 d, fp16 m, 16 bytes of nibbles; x = d·q + m. Block (32), 20 bytes.
public func dequantizeQ4_1(_ out: UnsafeMutablePointer<Float>, _ src: UnsafeRawPointer, blocks: Int) {
    for b in 0..<blocks {
        let p = src + b * 20, y = out + b * 32
        let d = loadHalf(p, 0), m = loadHalf(p, 2)
        let qs = (p + 4).assumingMemoryBound(to: UInt8.self)
        for j in 0..<16 {
            y[j] = Float(qs[j] & 0xF) * d + m
            y[j + 16] = Float(qs[j] >> 4) * d + m
        }
    }
}

/// Naive Q4_1 reference (element by element from the layout description), for testing the fast kernel.
func dequantizeQ4_1Naive(_ out: UnsafeMutablePointer<Float>, _ src: UnsafeRawPointer, blocks: Int) {
    for i in 0..<blocks * 32 {
        let b = i / 32, j = i % 32
        let p = src + b * 20
        let byte = p.load(fromByteOffset: 4 + j % 16, as: UInt8.self)
        let q = j < 16 ? byte & 0xF : byte >> 4
        out[i] = loadHalf(p, 0) * Float(q) + loadHalf(p, 2)
    }
}

/// Q5_0: fp16 d, 32 high bits, 16 bytes of nibbles; x = d·(q − 16). Block (32), 22 bytes.
public func dequantizeQ5_0(_ out: UnsafeMutablePointer<Float>, _ src: UnsafeRawPointer, blocks: Int) {
    for b in 0..<blocks {
        let p = src + b * 22, y = out + b * 32
        let d = loadHalf(p, 0)
        let qh = UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 2, as: UInt32.self))
        let qs = (p + 6).assumingMemoryBound(to: UInt8.self)
        for j in 0..<16 {
            let h0 = ((qh >> UInt32(j)) << 4) & 0x10, h1 = (qh >> UInt32(j + 12)) & 0x10
            y[j] = Float(Int32(UInt32(qs[j] & 0xF) | h0) - 16) * d
            y[j + 16] = Float(Int32(UInt32(qs[j] >> 4) | h1) - 16) * d
        }
    }
}

/// Q5_1: fp16 d, fp16 m, 32 high bits, 16 bytes of nibbles; x = d·q + m. Block (32), 24 bytes.
public func dequantizeQ5_1(_ out: UnsafeMutablePointer<Float>, _ src: UnsafeRawPointer, blocks: Int) {
    for b in 0..<blocks {
        let p = src + b * 24, y = out + b * 32
        let d = loadHalf(p, 0), m = loadHalf(p, 2)
        let qh = UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
        let qs = (p + 8).assumingMemoryBound(to: UInt8.self)
        for j in 0..<16 {
            let h0 = ((qh >> UInt32(j)) << 4) & 0x10, h1 = (qh >> UInt32(j + 12)) & 0x10
            y[j] = Float(UInt32(qs[j] & 0xF) | h0) * d + m
            y[j + 16] = Float(UInt32(qs[j] >> 4) | h1) * d + m
        }
    }
}

/// Q8_0: fp16 d, 32 int8; x = d·q. Block (32), 34 bytes.
public func dequantizeQ8_0(_ out: UnsafeMutablePointer<Float>, _ src: UnsafeRawPointer, blocks: Int) {
    for b in 0..<blocks {
        let p = src + b * 34, y = out + b * 32
        let d = loadHalf(p, 0)
        let qs = (p + 2).assumingMemoryBound(to: Int8.self)
        for j in 0..<32 { y[j] = Float(qs[j]) * d }
    }
}
