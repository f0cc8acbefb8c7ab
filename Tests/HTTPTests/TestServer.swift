import Foundation
import XCTest
@testable import HTTP

/// Starts a server on a free loopback port for one test and stops it afterwards.
func startServer(_ configure: (inout HTTPServerConfiguration) -> Void = { _ in },
                 file: StaticString = #filePath, line: UInt = #line,
                 handler: @escaping @Sendable (HTTPRequest) -> HTTPResponse) throws -> HTTPServer {
    var config = HTTPServerConfiguration(host: "127.0.0.1", port: 0)
    configure(&config)
    let server = HTTPServer(configuration: config, handler: handler)
    try server.start()
    XCTAssertGreaterThan(server.port, 0, file: file, line: line)
    return server
}

func text(_ body: String, status: Int = 200, type: String = "text/plain") -> HTTPResponse {
    HTTPResponse(status: status, headers: HTTPHeaders([("Content-Type", type)]), body: .bytes(Array(body.utf8)))
}

/// A thread-safe box for values handlers record.
final class Recorder<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [T] = []
    func append(_ x: T) { lock.lock(); items.append(x); lock.unlock() }
    var all: [T] { lock.lock(); defer { lock.unlock() }; return items }
}

/// Runs a command line tool and returns (status, stdout, stderr).
@discardableResult
func runTool(_ executable: String, _ arguments: [String], stdin: Data? = nil) throws -> (Int32, String, String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = arguments
    let out = Pipe(), err = Pipe()
    p.standardOutput = out; p.standardError = err
    if stdin != nil { p.standardInput = Pipe() }
    try p.run()
    if let stdin, let pipe = p.standardInput as? Pipe {
        pipe.fileHandleForWriting.write(stdin)
        try? pipe.fileHandleForWriting.close()
    }
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
}
