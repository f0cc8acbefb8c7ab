import Foundation
import HTTP
import Jobs
import XCTest
@testable import Service

final class EventsAndArtifactsTests: XCTestCase {
    func finishedJob(_ h: ServiceHarness) throws -> String {
        h.seedInputs()
        let id = try h.submit()
        XCTAssertTrue(h.service.manager.waitUntilIdle(timeout: 10))
        return id
    }

    func testEventsPage_IsOrderedWithCursor() throws {
        let h = try ServiceHarness()
        let id = try finishedJob(h)
        let r = h.send("GET", "/v1/jobs/\(id)/events?limit=3", auth: h.alice)
        let seqs = (r.json["data"] as? [[String: Any]] ?? []).compactMap { $0["sequence"] as? Int }
        XCTAssertEqual(seqs, [1, 2, 3])
        XCTAssertEqual(r.json["next_cursor"] as? String, "3")
        let rest = h.send("GET", "/v1/jobs/\(id)/events?after=3&limit=100", auth: h.alice)
        let last = (rest.json["data"] as? [[String: Any]])?.last
        XCTAssertEqual(last?["status"] as? String, "succeeded")
        XCTAssertEqual(rest.json["has_more"] as? Bool, false)
    }

    func testSSE_ReplaysFromLastEventIDAndClosesAfterTerminalEvent() throws {
        let h = try ServiceHarness()
        let id = try finishedJob(h)
        let r = h.send("GET", "/v1/jobs/\(id)/events", auth: h.alice, headers: [("Accept", "text/event-stream"), ("Last-Event-ID", "2")])
        XCTAssertEqual(r.headers["Content-Type"], "text/event-stream")
        let text = r.text   // drains the stream; returns because the job is terminal
        let ids = text.components(separatedBy: "\n").filter { $0.hasPrefix("id: ") }.compactMap { Int($0.dropFirst(4)) }
        XCTAssertEqual(ids.first, 3)
        XCTAssertEqual(ids, Array(3...(ids.last ?? 3)))
        XCTAssertTrue(text.hasSuffix("\n\n"))
        XCTAssertTrue(text.contains("event: status\ndata: {"))
        XCTAssertTrue(text.components(separatedBy: "\n\n").dropLast().last?.contains("\"succeeded\"") ?? false)
    }

    func testSSE_SendsKeepalivesWhileNothingHappensThenFollowsTheJobToTheEnd() throws {
        let gate = Gate(shot: 1)
        let h = try ServiceHarness(runner: .init(layers: 2, onLayer: gate.hook))
        h.seedInputs()
        let id = try h.submit()
        gate.reached.wait()
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) { gate.release.signal() }
        let text = h.send("GET", "/v1/jobs/\(id)/events", auth: h.alice, headers: [("Accept", "text/event-stream")]).text
        XCTAssertTrue(text.contains(": keepalive\n\n"))
        XCTAssertTrue(text.contains("\"succeeded\""))
    }

    func testArtifact_FullRangeSuffixConditionalAndDigest() throws {
        let h = try ServiceHarness()
        let id = try finishedJob(h)
        let list = h.send("GET", "/v1/jobs/\(id)/artifacts", auth: h.alice).json["data"] as? [[String: Any]] ?? []
        XCTAssertEqual(list.compactMap { $0["name"] as? String }, ["model.safetensors", "report.json"])
        let url = "/v1/jobs/\(id)/artifacts/model.safetensors"
        let full = h.send("GET", url, auth: h.alice)
        XCTAssertEqual(full.status, 200)
        let bytes = full.bytes
        XCTAssertEqual(bytes.count, 64 << 10)
        let hex = SHA256.hex(of: bytes)
        XCTAssertEqual(full.headers["ETag"], "\"\(hex)\"")
        XCTAssertEqual(list.first?["sha256"] as? String, hex)
        let sha = SHA256(); sha.update(bytes)
        XCTAssertEqual(full.headers["Repr-Digest"], "sha-256=:\(Data(sha.finish()).base64EncodedString()):")
        XCTAssertEqual(full.headers["Accept-Ranges"], "bytes")
        XCTAssertEqual(full.headers["Content-Disposition"], "attachment; filename=\"model.safetensors\"")

        let part = h.send("GET", url, auth: h.alice, headers: [("Range", "bytes=100-199")])
        XCTAssertEqual(part.status, 206)
        XCTAssertEqual(part.headers["Content-Range"], "bytes 100-199/65536")
        XCTAssertEqual(part.bytes, Array(bytes[100..<200]))
        let suffix = h.send("GET", url, auth: h.alice, headers: [("Range", "bytes=-10")])
        XCTAssertEqual(suffix.bytes, Array(bytes[(bytes.count - 10)...]))
        let open = h.send("GET", url, auth: h.alice, headers: [("Range", "bytes=65000-")])
        XCTAssertEqual(open.bytes, Array(bytes[65000...]))

        let bad = h.send("GET", url, auth: h.alice, headers: [("Range", "bytes=70000-")])
        XCTAssertEqual(bad.status, 416)
        XCTAssertEqual(bad.headers["Content-Range"], "bytes */65536")

        XCTAssertEqual(h.send("GET", url, auth: h.alice, headers: [("If-None-Match", "\"\(hex)\"")]).status, 304)
        XCTAssertEqual(h.send("GET", url, auth: h.alice, headers: [("If-None-Match", "\"other\"")]).status, 200)
        XCTAssertEqual(h.send("GET", url, auth: h.alice, headers: [("Range", "bytes=0-9"), ("If-Range", "\"\(hex)\"")]).status, 206)
        XCTAssertEqual(h.send("GET", url, auth: h.alice, headers: [("Range", "bytes=0-9"), ("If-Range", "\"stale\"")]).status, 200)
        XCTAssertEqual(h.send("HEAD", url, auth: h.alice).status, 200)
        XCTAssertEqual(h.send("GET", "/v1/jobs/\(id)/artifacts/..", auth: h.alice).status, 404)
        XCTAssertEqual(h.send("GET", url, auth: h.bob).status, 404)
    }

    func testByteRangeParser_Cases() {
        XCTAssertEqual(ByteRange.parse("bytes=0-0", size: 10), .partial(start: 0, length: 1))
        XCTAssertEqual(ByteRange.parse("bytes=5-100", size: 10), .partial(start: 5, length: 5))
        XCTAssertEqual(ByteRange.parse("bytes=-20", size: 10), .partial(start: 0, length: 10))
        XCTAssertEqual(ByteRange.parse("bytes=10-", size: 10), .unsatisfiable)
        XCTAssertEqual(ByteRange.parse("bytes=-0", size: 10), .unsatisfiable)
        XCTAssertEqual(ByteRange.parse("bytes=0-1,3-4", size: 10), .whole)
        XCTAssertEqual(ByteRange.parse("items=0-1", size: 10), .whole)
        XCTAssertEqual(ByteRange.parse("bytes=5-2", size: 10), .whole)
        XCTAssertEqual(ByteRange.parse(nil, size: 10), .whole)
    }

    func testArchive_IsAGzippedTarOfOutputsAndCheckpoints() throws {
        let h = try ServiceHarness()
        let id = try finishedJob(h)
        let r = h.send("GET", "/v1/jobs/\(id)/archive.tar.gz", auth: h.alice)
        XCTAssertEqual(r.headers["Content-Type"], "application/gzip")
        let tar = try Gzip.decompress(r.bytes)
        XCTAssertEqual(tar.count % 512, 0)
        var names: [String] = []
        var offset = 0
        while offset + 512 <= tar.count, tar[offset] != 0 {
            let header = Array(tar[offset..<offset + 512])
            names.append(String(decoding: header[0..<100].prefix { $0 != 0 }, as: UTF8.self))
            let size = Int(String(decoding: header[124..<135], as: UTF8.self), radix: 8) ?? 0
            let stored = header.enumerated().reduce(0) { $0 + (($1.offset >= 148 && $1.offset < 156) ? 32 : Int($1.element)) }
            XCTAssertEqual(Int(String(decoding: header[148..<154], as: UTF8.self), radix: 8), stored, "checksum of \(names.last!)")
            offset += 512 + (size + 511) / 512 * 512
        }
        XCTAssertTrue(names.contains("\(id)/model.safetensors"))
        XCTAssertTrue(names.contains("\(id)/checkpoints/shot-2/checkpoint.json"))
        XCTAssertTrue(names.contains("\(id)/report.json"))
    }
}
