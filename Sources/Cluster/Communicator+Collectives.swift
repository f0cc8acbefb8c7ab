/// The typed collectives, built on the primitives, the same for MPI and the local twin.
extension Communicator {
    /// Elements per piece of an ordered reduction: the root holds one piece of each sender at a time.
    static var reductionPiece: Int { 1 << 20 }

    public func broadcast(_ values: inout [Float], root: Int) throws {
        guard size > 1, !values.isEmpty else { return }
        try values.withUnsafeMutableBytes { try broadcast($0, root: root) }
    }

    public func broadcast(_ values: inout [Double], root: Int) throws {
        guard size > 1, !values.isEmpty else { return }
        try values.withUnsafeMutableBytes { try broadcast($0, root: root) }
    }

    public func broadcast(_ value: inout Int, root: Int) throws {
        guard size > 1 else { return }
        var v = Int64(value)
        try withUnsafeMutableBytes(of: &v) { try broadcast($0, root: root) }
        value = Int(v)
    }

    /// Bytes of `root` (any length) reach every rank.
    public func broadcast(bytes: inout [UInt8], root: Int) throws {
        guard size > 1 else { return }
        var n = bytes.count
        try broadcast(&n, root: root)
        if rank != root { bytes = [UInt8](repeating: 0, count: n) }
        guard n > 0 else { return }
        try bytes.withUnsafeMutableBytes { try broadcast($0, root: root) }
    }

    /// The ordered sum of every rank's `values` lands in `root`'s `values` (`((p₀ + p₁) + p₂) + …`, in pieces);
    /// the other ranks' `values` are unchanged. All ranks pass the same count.
    public func reduceSum(_ values: inout [Float], root: Int) throws {
        guard size > 1, !values.isEmpty else { return }
        let piece = Self.reductionPiece
        if rank != root {
            try values.withUnsafeBytes { all in
                var start = 0
                while start < values.count {
                    let n = min(piece, values.count - start)
                    try send(UnsafeRawBufferPointer(rebasing: all[(start * 4)..<((start + n) * 4)]), to: root, tag: 1)
                    start += n
                }
            }
            return
        }
        var acc = [Float](repeating: 0, count: min(piece, values.count))
        var part = [Float](repeating: 0, count: acc.count)
        var start = 0
        while start < values.count {
            let n = min(piece, values.count - start)
            for r in 0..<size {
                if r == root {
                    for j in 0..<n { part[j] = values[start + j] }
                } else {
                    try part.withUnsafeMutableBytes { try receive(UnsafeMutableRawBufferPointer(rebasing: $0[0..<(n * 4)]), from: r, tag: 1) }
                }
                if r == 0 { for j in 0..<n { acc[j] = part[j] } } else { for j in 0..<n { acc[j] += part[j] } }
            }
            for j in 0..<n { values[start + j] = acc[j] }
            start += n
        }
    }

    /// The ordered sum of every rank's `values` on every rank.
    public func allReduceSum(_ values: inout [Float]) throws {
        try reduceSum(&values, root: 0)
        try broadcast(&values, root: 0)
    }

    /// The ordered sum of every rank's `values` (Double) on every rank.
    public func allReduceSum(_ values: inout [Double]) throws {
        guard size > 1, !values.isEmpty else { return }
        if rank != 0 {
            try values.withUnsafeBytes { try send($0, to: 0, tag: 2) }
        } else {
            var part = [Double](repeating: 0, count: values.count)
            var acc = values
            for r in 1..<size {
                try part.withUnsafeMutableBytes { try receive($0, from: r, tag: 2) }
                for j in acc.indices { acc[j] += part[j] }
            }
            values = acc
        }
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

    /// The sequences of `count` this rank takes in a data-parallel pass: contiguous, sizes differing by at most one.
    public func share(of count: Int) -> Range<Int> {
        let base = count / size, extra = count % size
        let lo = rank * base + min(rank, extra)
        return lo ..< lo + base + (rank < extra ? 1 : 0)
    }
}
