import Cluster
import XCTest

/// The one-process twin and the pieces of the collectives that need no second rank.
final class CommunicatorTests: XCTestCase {
    func testLocal_IsRankZeroOfOne_AndCollectivesAreIdentity() throws {
        let c = LocalCommunicator()
        XCTAssertEqual(c.rank, 0); XCTAssertEqual(c.size, 1)
        var f: [Float] = [1, -2, 3.5]
        try c.allReduceSum(&f)
        XCTAssertEqual(f, [1, -2, 3.5])
        var d: [Double] = [0.25, 4]
        try c.allReduceSum(&d)
        XCTAssertEqual(d, [0.25, 4])
        XCTAssertEqual(try c.allGather([7, 8]), [7, 8])
        XCTAssertEqual(c.share(of: 5), 0..<5)
        XCTAssertThrowsError(try [UInt8](repeating: 0, count: 4).withUnsafeBytes { try c.send($0, to: 1, tag: 0) })
    }

    /// The sequence shares of `n` over `size` ranks: contiguous, in rank order, covering 0..<n once, sizes within one.
    func testShare_SplitsContiguously() {
        final class Fake: Communicator, @unchecked Sendable {
            let rank: Int, size: Int
            init(_ r: Int, _ s: Int) { rank = r; size = s }
            var name: String { "fake" }
            var bytesSent: Int { 0 }
            func barrier() throws {}
            func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int) throws {}
            func send(_ buffer: UnsafeRawBufferPointer, to rank: Int, tag: Int) throws {}
            func receive(_ buffer: UnsafeMutableRawBufferPointer, from rank: Int, tag: Int) throws {}
            func abort(code: Int32) -> Never { fatalError() }
            func finalize() {}
        }
        for (n, size) in [(16, 2), (16, 3), (5, 4), (3, 4), (0, 2)] {
            let shares = (0..<size).map { Fake($0, size).share(of: n) }
            XCTAssertEqual(shares.first?.lowerBound, 0)
            XCTAssertEqual(shares.last?.upperBound, n)
            for r in 1..<size { XCTAssertEqual(shares[r].lowerBound, shares[r - 1].upperBound) }
            let counts = shares.map(\.count)
            XCTAssertLessThanOrEqual(counts.max()! - counts.min()!, 1, "\(n) over \(size): \(counts)")
        }
    }
}
