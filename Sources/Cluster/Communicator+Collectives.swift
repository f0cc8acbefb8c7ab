/// The typed collectives, built on the primitives, the same for MPI and the local twin. Float and Double buffers
/// share one implementation.
extension Communicator {
    /// Elements per piece of an ordered reduction: the root holds one piece of each sender at a time.
    static var reductionPiece: Int { 1 << 20 }

    public func broadcast<T: BinaryFloatingPoint>(_ values: inout [T], root: Int) throws {
        guard size > 1, !values.isEmpty else { return }
        try values.withUnsafeMutableBytes { try broadcast($0, root: root) }
    }

    public func broadcast(_ value: inout Int, root: Int) throws {
        guard size > 1 else { return }
        var v = Int64(value)
        try withUnsafeMutableBytes(of: &v) { try broadcast($0, root: root) }
        value = Int(v)
    }

    /// The ordered sum of every rank's `values` lands in `root`'s `values` (`((p₀ + p₁) + p₂) + …`, in pieces);
    /// the other ranks' `values` are unchanged. All ranks pass the same count.
    public func reduceSum<T: BinaryFloatingPoint>(_ values: inout [T], root: Int) throws {
        guard size > 1, !values.isEmpty else { return }
        let piece = Self.reductionPiece, width = MemoryLayout<T>.stride
        if rank != root {
            try values.withUnsafeBytes { all in
                var start = 0
                while start < values.count {
                    let n = min(piece, values.count - start)
                    try send(UnsafeRawBufferPointer(rebasing: all[(start * width)..<((start + n) * width)]), to: root, tag: 1)
                    start += n
                }
            }
            return
        }
        var acc = [T](repeating: 0, count: min(piece, values.count))
        var part = acc
        var start = 0
        while start < values.count {
            let n = min(piece, values.count - start)
            for r in 0..<size {
                if r == root {
                    for j in 0..<n { part[j] = values[start + j] }
                } else {
                    try part.withUnsafeMutableBytes { try receive(UnsafeMutableRawBufferPointer(rebasing: $0[0..<(n * width)]), from: r, tag: 1) }
                }
                if r == 0 { for j in 0..<n { acc[j] = part[j] } } else { for j in 0..<n { acc[j] += part[j] } }
            }
            for j in 0..<n { values[start + j] = acc[j] }
            start += n
        }
    }

    /// The ordered sum of every rank's `values` on every rank.
    public func allReduceSum<T: BinaryFloatingPoint>(_ values: inout [T]) throws {
        try reduceSum(&values, root: 0)
        try broadcast(&values, root: 0)
    }

    /// Every rank's `values` (the same count on all ranks), concatenated in rank order, on every rank.
    public func allGather(_ values: [Double]) throws -> [Double] {
        guard size > 1 else { return values }
        var out = [Double](repeating: 0, count: values.count * size)
        for j in values.indices { out[rank * values.count + j] = values[j] }
        try allReduceSum(&out)  // disjoint parts: exact
        return out
    }

    /// The sequences of `count` that `rank` (default: this one) takes in a data-parallel pass: contiguous, in rank
    /// order, sizes differing by at most one.
    public func share(of count: Int, rank r: Int? = nil) -> Range<Int> {
        let r = r ?? rank
        let base = count / size, extra = count % size
        let lo = r * base + min(r, extra)
        return lo ..< lo + base + (r < extra ? 1 : 0)
    }
}
