// K-quant super-blocks of 256 elements (ggml-common.h: block_q4_K, block_q5_K, block_q6_K).

/// 6-bit scale and min number `j` (0..<8) packed in the 12 `scales` bytes of Q4_K / Q5_K.
@inline(__always) func scaleMinK4(_ j: Int, _ q: UnsafePointer<UInt8>) -> (Float, Float) {
    if j < 4 { return (Float(q[j] & 63), Float(q[j + 4] & 63)) }
    let sc = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4)
    let m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4)
    return (Float(sc), Float(m))
}

/// Q4_K: fp16 d, fp16 dmin, 12 scale bytes, 128 nibble bytes; x = d·sc·q − dmin·m. Block (256), 144 bytes.
public func dequantizeQ4_K(_ out: UnsafeMutablePointer<Float>, _ src: UnsafeRawPointer, blocks: Int) {
    for b in 0..<blocks {
        let p = src + b * 144
        var y = out + b * 256
        let d = loadHalf(p, 0), dmin = loadHalf(p, 2)
        let scales = (p + 4).assumingMemoryBound(to: UInt8.self)
        var q = (p + 16).assumingMemoryBound(to: UInt8.self)
        var s = 0
        for _ in 0..<4 {
            let (sc1, m1) = scaleMinK4(s, scales), (sc2, m2) = scaleMinK4(s + 1, scales)
            let d1 = d * sc1, mm1 = dmin * m1, d2 = d * sc2, mm2 = dmin * m2
            for l in 0..<32 { y[l] = d1 * Float(q[l] & 0xF) - mm1 }
            for l in 0..<32 { y[l + 32] = d2 * Float(q[l] >> 4) - mm2 }
            y += 64; q += 32; s += 2
        }
    }
}

/// Q5_K: fp16 d, fp16 dmin, 12 scale bytes, 32 high-bit bytes, 128 nibble bytes. Block (256), 176 bytes.
public func dequantizeQ5_K(_ out: UnsafeMutablePointer<Float>, _ src: UnsafeRawPointer, blocks: Int) {
    for b in 0..<blocks {
        let p = src + b * 176
        var y = out + b * 256
        let d = loadHalf(p, 0), dmin = loadHalf(p, 2)
        let scales = (p + 4).assumingMemoryBound(to: UInt8.self)
        let qh = (p + 16).assumingMemoryBound(to: UInt8.self)
        var ql = (p + 48).assumingMemoryBound(to: UInt8.self)
        var s = 0
        var u1: UInt8 = 1, u2: UInt8 = 2
        for _ in 0..<4 {
            let (sc1, m1) = scaleMinK4(s, scales), (sc2, m2) = scaleMinK4(s + 1, scales)
            let d1 = d * sc1, mm1 = dmin * m1, d2 = d * sc2, mm2 = dmin * m2
            for l in 0..<32 { y[l] = d1 * Float((ql[l] & 0xF) + (qh[l] & u1 != 0 ? 16 : 0)) - mm1 }
            for l in 0..<32 { y[l + 32] = d2 * Float((ql[l] >> 4) + (qh[l] & u2 != 0 ? 16 : 0)) - mm2 }
            y += 64; ql += 32; s += 2
            u1 &<<= 2; u2 &<<= 2
        }
    }
}

/// Q6_K: 128 low-nibble bytes, 64 high-bit bytes, 16 int8 scales, fp16 d; x = d·sc·(q − 32).
/// Block (256), 210 bytes.
public func dequantizeQ6_K(_ out: UnsafeMutablePointer<Float>, _ src: UnsafeRawPointer, blocks: Int) {
    for b in 0..<blocks {
        let p = src + b * 210
        var y = out + b * 256
        var ql = p.assumingMemoryBound(to: UInt8.self)
        var qh = (p + 128).assumingMemoryBound(to: UInt8.self)
        var sc = (p + 192).assumingMemoryBound(to: Int8.self)
        let d = loadHalf(p, 208)
        for _ in 0..<2 {
            for l in 0..<32 {
                let i = l / 16
                let q1 = Int32((ql[l] & 0xF) | ((qh[l] & 3) << 4)) - 32
                let q2 = Int32((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32
                let q3 = Int32((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32
                let q4 = Int32((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32
                y[l] = d * Float(sc[i]) * Float(q1)
                y[l + 32] = d * Float(sc[i + 2]) * Float(q2)
                y[l + 64] = d * Float(sc[i + 4]) * Float(q3)
                y[l + 96] = d * Float(sc[i + 6]) * Float(q4)
            }
            y += 128; ql += 64; qh += 32; sc += 8
        }
    }
}
