import Foundation
import XCTest
@testable import HTTP

final class HTTPServerTLSTests: XCTestCase {
    private func makeCertificate() throws -> (dir: String, cert: String, key: String) {
        let dir = NSTemporaryDirectory() + "surgeon-tls-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let cert = dir + "/cert.pem", key = dir + "/key.pem"
        let (status, _, err) = try runTool("/usr/bin/openssl", [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        XCTAssertEqual(status, 0, err)
        return (dir, cert, key)
    }

    func testHTTPS_ServesCurlWithTheSelfSignedCertificate() throws {
        let (dir, cert, key) = try makeCertificate()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let server = try startServer({ $0.tls = .init(certificatePath: cert, privateKeyPath: key) }) { req in
            let body = (try? req.body.readAll(limit: 1 << 20)) ?? []
            return text("secure \(req.method) \(req.path) \(body.count)")
        }
        defer { server.stop(gracePeriod: 1) }
        let url = "https://localhost:\(server.port)/hello"
        let (s1, o1, e1) = try runTool("/usr/bin/curl", ["-sS", "--cacert", cert, url, url])
        XCTAssertEqual(s1, 0, e1)
        XCTAssertEqual(o1, "secure GET /hello 0secure GET /hello 0", "two requests over one TLS connection")
        let (s2, o2, e2) = try runTool("/usr/bin/curl", ["-sS", "--cacert", cert, "--tlsv1.2", "--tls-max", "1.2",
                                                     "-H", "Transfer-Encoding: chunked", "--data-binary", "@-", url],
                                   stdin: Data(repeating: 65, count: 200_000))
        XCTAssertEqual(s2, 0, e2)
        XCTAssertEqual(o2, "secure POST /hello 200000")
        let (s3, _, _) = try runTool("/usr/bin/curl", ["-sS", "--cacert", cert, "--tls-max", "1.1", url])
        XCTAssertNotEqual(s3, 0, "TLS 1.1 is refused")
    }

    func testMissingCertificate_FailsToStart() {
        var config = HTTPServerConfiguration(port: 0)
        config.tls = .init(certificatePath: "/nonexistent/cert.pem", privateKeyPath: "/nonexistent/key.pem")
        let server = HTTPServer(configuration: config) { _ in text("x") }
        XCTAssertThrowsError(try server.start()) { error in
            XCTAssertTrue("\(error)".contains("/nonexistent/cert.pem"), "\(error)")
        }
    }
}
