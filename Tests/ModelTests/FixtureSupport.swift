import Foundation
import XCTest
import Checkpoint
@testable import Model

/// `reference.json` written by scripts/fixtures/make_model_fixtures.py.
struct ModelReference: Decodable {
    struct LinearEntry: Decodable { let name: String; let `in`: Int; let out: Int }
    let sequences: [[Int]]
    let target_logprobs: [[Float]]
    let top5: [[[Int]]]
    let loss: [Float]
    let grad_loss: Float?
    let linears: [LinearEntry]?
}

enum Fixtures {
    static func url(_ name: String) throws -> URL {
        guard let u = Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures") else {
            throw XCTSkip("fixture \(name) missing: run /work/venv-ref/bin/python scripts/fixtures/make_model_fixtures.py")
        }
        return u
    }

    static func model(_ name: String) throws -> TransformerModel {
        try TransformerModel(checkpoint: CheckpointLoader.load(path: url(name).path))
    }

    static func reference(_ name: String) throws -> ModelReference {
        try JSONDecoder().decode(ModelReference.self, from: Data(contentsOf: url(name).appendingPathComponent("reference.json")))
    }

    /// activations.bin: per Linear, input (T, in) then grad wrt output (T, out), fp32.
    static func activations(_ name: String, ref: ModelReference, t: Int) throws -> [String: (input: [Float], grad: [Float])] {
        let data = try Data(contentsOf: url(name).appendingPathComponent("activations.bin"))
        let all: [Float] = data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        var out: [String: (input: [Float], grad: [Float])] = [:]
        var off = 0
        for e in ref.linears ?? [] {
            let a = Array(all[off..<(off + t * e.in)]); off += t * e.in
            let g = Array(all[off..<(off + t * e.out)]); off += t * e.out
            out[e.name] = (a, g)
        }
        XCTAssertEqual(off, all.count, "activations.bin size")
        return out
    }

    /// The package root (for models/ and ../shared/data).
    static var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }
}

func maxAbsDiff(_ a: [Float], _ b: [Float]) -> Float {
    zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
}

func relativeError(_ a: [Float], _ b: [Float]) -> Double {
    var num: Double = 0, den: Double = 0
    for (x, y) in zip(a, b) { num += Double(x - y) * Double(x - y); den += Double(y) * Double(y) }
    return (num / max(den, 1e-30)).squareRoot()
}

/// The `k` largest indices of a row, largest first.
func topK(_ row: UnsafePointer<Float>, count: Int, k: Int) -> [Int] {
    var best: [Int] = []
    for i in 0..<count {
        if best.count < k || row[i] > row[best.last!] {
            best.append(i)
            best.sort { row[$0] > row[$1] }
            if best.count > k { best.removeLast() }
        }
    }
    return best
}
