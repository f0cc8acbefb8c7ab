import XCTest
@testable import HTTP

final class HTTPRequestParserTests: XCTestCase {
    private func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    /// Collapses body events so splits at different places compare equal.
    private func normalized(_ events: [HTTPRequestParser.Event]) -> [HTTPRequestParser.Event] {
        var out: [HTTPRequestParser.Event] = []
        for e in events {
            if case .body(let b) = e, case .body(let a)? = out.last { out[out.count - 1] = .body(a + b) } else { out.append(e) }
        }
        return out
    }

    private func firstError(_ raw: String, limits: HTTPRequestParser.Limits = .init()) -> HTTPParseError? {
        var p = HTTPRequestParser(limits: limits)
        for e in p.parse(bytes(raw)) { if case .error(let err) = e { return err } }
        return nil
    }

    func testSimpleGet_ProducesHeadAndEnd() {
        var p = HTTPRequestParser()
        let events = p.parse(bytes("GET /v1/jobs?limit=2 HTTP/1.1\r\nHost: x\r\nAccept:  */* \r\n\r\n"))
        XCTAssertEqual(events.count, 2)
        guard case .head(let head) = events[0] else { return XCTFail("no head") }
        XCTAssertEqual(head.method, "GET")
        XCTAssertEqual(head.target, "/v1/jobs?limit=2")
        XCTAssertEqual(head.headers["accept"], "*/*")
        XCTAssertEqual(head.framing, .none)
        XCTAssertTrue(head.keepAlive)
        XCTAssertEqual(events[1], .end)
        XCTAssertTrue(p.isAtMessageStart)
    }

    func testContentLengthBody_IsDelivered() {
        var p = HTTPRequestParser()
        let events = normalized(p.parse(bytes("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")))
        XCTAssertEqual(events.dropFirst(), [.body(bytes("hello")), .end])
    }

    func testChunkedBody_WithExtensionsAndTrailers_IsDecoded() {
        var p = HTTPRequestParser()
        let raw = "POST /u HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "5;name=value\r\nhello\r\n6 ; ext\r\n world\r\n0\r\nX-Digest: abc\r\n\r\n"
        let events = normalized(p.parse(bytes(raw)))
        XCTAssertEqual(events.dropFirst(), [.body(bytes("hello world")), .end])
        XCTAssertEqual(p.trailers["x-digest"], "abc")
    }

    func testPipelinedRequests_AreParsedInOrder() {
        var p = HTTPRequestParser()
        let raw = "GET /a HTTP/1.1\r\nHost: x\r\n\r\nPOST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhiGET /c HTTP/1.1\r\nHost: x\r\n\r\n"
        let targets = p.parse(bytes(raw)).compactMap { e -> String? in if case .head(let h) = e { return h.target } else { return nil } }
        XCTAssertEqual(targets, ["/a", "/b", "/c"])
        XCTAssertEqual(p.bufferedByteCount, 0)
    }

    func testRequestSplitAtEveryByte_GivesTheSameEvents() {
        let raw = bytes("POST /up%20load?x=1 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "3;a=b\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nT: v\r\n\r\n"
            + "PUT /p HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nwxyzGET / HTTP/1.0\r\n\r\n")
        var whole = HTTPRequestParser()
        let expected = normalized(whole.parse(raw))
        XCTAssertEqual(expected.count, 8)
        for cut in 0...raw.count {
            var p = HTTPRequestParser()
            let events = normalized(p.parse(raw[0..<cut]) + p.parse(raw[cut...]))
            XCTAssertEqual(events, expected, "split at \(cut)")
        }
        // And one byte at a time.
        var p = HTTPRequestParser()
        XCTAssertEqual(normalized(raw.flatMap { p.parse([$0]) }), expected)
    }

    func testHTTP10_DefaultsToClose_AndKeepAliveIsHonoured() {
        var p = HTTPRequestParser()
        guard case .head(let h)? = p.parse(bytes("GET / HTTP/1.0\r\n\r\n")).first else { return XCTFail() }
        XCTAssertFalse(h.keepAlive)
        var q = HTTPRequestParser()
        guard case .head(let k)? = q.parse(bytes("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")).first else { return XCTFail() }
        XCTAssertTrue(k.keepAlive)
        var r = HTTPRequestParser()
        guard case .head(let c)? = r.parse(bytes("GET / HTTP/1.1\r\nHost: x\r\nConnection: Close\r\n\r\n")).first else { return XCTFail() }
        XCTAssertFalse(c.keepAlive)
    }

    func testExpectContinue_IsReported() {
        var p = HTTPRequestParser()
        guard case .head(let h)? = p.parse(bytes("PUT / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n")).first
        else { return XCTFail() }
        XCTAssertTrue(h.expectsContinue)
        XCTAssertEqual(firstError("PUT / HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\n\r\n")?.status, 417)
    }

    func testObsFold_IsRejected() {
        XCTAssertEqual(firstError("GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n  folded\r\n\r\n")?.status, 400)
    }

    func testContentLengthAndTransferEncoding_AreRejected() {
        XCTAssertEqual(firstError("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n")?.status, 400)
    }

    func testInvalidContentLengths_AreRejected() {
        for cl in ["-1", "abc", "1 2", "+5", "", "0x10", "99999999999999999999", "5, 6"] {
            XCTAssertEqual(firstError("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: \(cl)\r\n\r\n")?.status, 400, cl)
        }
        XCTAssertEqual(firstError("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n")?.status, 400)
        XCTAssertNil(firstError("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 3\r\n\r\nabc"))
    }

    func testUnsupportedTransferCodings_AreRejected() {
        XCTAssertEqual(firstError("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n")?.status, 400)
        XCTAssertEqual(firstError("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n")?.status, 501)
        XCTAssertEqual(firstError("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n")?.status, 400)
    }

    func testHugeChunkSize_IsRejectedAsOverflow() {
        let raw = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFFFF\r\n"
        var limits = HTTPRequestParser.Limits(); limits.maxBodyBytes = nil
        XCTAssertEqual(firstError(raw, limits: limits)?.reason, "chunk size overflows")
    }

    func testMalformedChunks_AreRejected() {
        let head = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        XCTAssertEqual(firstError(head + "zz\r\n")?.status, 400)
        XCTAssertEqual(firstError(head + "3\r\nabcX\r\n")?.status, 400)
        XCTAssertEqual(firstError(head + "3\nabc\r\n")?.status, 400)
        XCTAssertEqual(firstError(head + "3x\r\nabc\r\n")?.status, 400)
    }

    func testHeaderSectionOverLimit_Answers431() {
        let limits = HTTPRequestParser.Limits(maxHeaderBytes: 100)
        let raw = "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + String(repeating: "a", count: 200)
        XCTAssertEqual(firstError(raw, limits: limits)?.status, 431)
        XCTAssertEqual(firstError("GET /" + String(repeating: "a", count: 200), limits: limits)?.status, 414)
    }

    func testTooManyHeaderFields_Answers431() {
        let limits = HTTPRequestParser.Limits(maxHeaderCount: 3)
        let raw = "GET / HTTP/1.1\r\nHost: x\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"
        XCTAssertEqual(firstError(raw, limits: limits)?.status, 431)
    }

    func testBodyOverLimit_Answers413_ForLengthAndChunked() {
        let limits = HTTPRequestParser.Limits(maxBodyBytes: 4)
        XCTAssertEqual(firstError("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", limits: limits)?.status, 413)
        let chunked = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n"
        XCTAssertEqual(firstError(chunked, limits: limits)?.status, 413)
    }

    func testBodyLimit_CanBeRaisedAfterTheHead() {
        var p = HTTPRequestParser(limits: .init(maxBodyBytes: 4))
        p.feed(bytes("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789"))
        guard case .head = p.next() else { return XCTFail() }
        p.bodyLimit = 100
        XCTAssertEqual(p.next(), .body(bytes("0123456789")))
        XCTAssertEqual(p.next(), .end)
    }

    func testBadRequestLines_AreRejected() {
        XCTAssertEqual(firstError("GET  / HTTP/1.1\r\nHost: x\r\n\r\n")?.status, 400)
        XCTAssertEqual(firstError("GET / HTTP/2.0\r\nHost: x\r\n\r\n")?.status, 505)
        XCTAssertEqual(firstError("GET / FTP/1.1\r\nHost: x\r\n\r\n")?.status, 400)
        XCTAssertEqual(firstError("G(T / HTTP/1.1\r\nHost: x\r\n\r\n")?.status, 400)
        XCTAssertEqual(firstError("GET / HTTP/1.1\nHost: x\r\n\r\n")?.status, 400)
        XCTAssertEqual(firstError("GET / HTTP/1.1\r\nHost : x\r\n\r\n")?.status, 400)
        XCTAssertEqual(firstError("GET / HTTP/1.1\r\nHost: x\u{1}y\r\n\r\n")?.status, 400)
        XCTAssertEqual(firstError("GET / HTTP/1.1\r\n\r\n")?.status, 400, "missing Host")
    }

    func testLeadingEmptyLines_AreIgnored() {
        var p = HTTPRequestParser()
        XCTAssertEqual(p.parse(bytes("\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n")).count, 2)
    }

    func testErrors_AreTerminal() {
        var p = HTTPRequestParser()
        _ = p.parse(bytes("BAD\r\n\r\n"))
        XCTAssertNotNil(p.failure)
        XCTAssertEqual(p.parse(bytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n")).count, 1)
    }
}

extension HTTPRequestParserTests {
    func testRandomMutationsOfValidRequests_NeverCrashAndEndInEventsOrAnError() {
        let seeds = [
            "POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n0\r\nT: 1\r\n\r\n",
            "PUT /b?c=d HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\nabc",
            "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
        ].map { Array($0.utf8) }
        var rng = SystemRandomNumberGenerator()
        let alphabet = Array("\r\n :;0123456789abcdefF-xX\t\u{0}".utf8) + [0xFF, 0x80]
        var outcomes = [0, 0]
        for _ in 0..<5000 {
            var bytes = seeds.randomElement(using: &rng)!
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                let i = Int.random(in: 0..<bytes.count, using: &rng)
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: bytes[i] = alphabet.randomElement(using: &rng)!
                case 1: bytes.insert(alphabet.randomElement(using: &rng)!, at: i)
                default: if bytes.count > 1 { bytes.remove(at: i) }
                }
            }
            var limits = HTTPRequestParser.Limits(maxHeaderBytes: 256, maxBodyBytes: 64)
            limits.maxChunkLineBytes = 32
            var p = HTTPRequestParser(limits: limits)
            let cut = Int.random(in: 0...bytes.count, using: &rng)
            let events = p.parse(bytes[0..<cut]) + p.parse(bytes[cut...])
            if case .error? = events.last { outcomes[1] += 1 } else { outcomes[0] += 1 }
        }
        print("mutated requests: \(outcomes[0]) parsed or incomplete, \(outcomes[1]) rejected")
        XCTAssertGreaterThan(outcomes[1], 0)
    }

    func testHugeChunkSizeUnderALimit_IsRejectedWithoutOverflow() {
        let raw = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n7FFFFFFFFFFFFFF\r\n"
        XCTAssertEqual(firstError(raw, limits: .init(maxBodyBytes: 100))?.status, 413)
    }
}
