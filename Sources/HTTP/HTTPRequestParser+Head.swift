/// Request-line and header-field parsing, and the framing rules of RFC 9112 §6.
extension HTTPRequestParser {
    /// Parses the header section without its final CRLFCRLF.
    static func parseHead(_ bytes: UnsafeBufferPointer<UInt8>, limits: Limits) -> Result<HTTPRequestHead, HTTPParseError> {
        var lines: [UnsafeBufferPointer<UInt8>] = []
        var lineStart = 0
        var i = 0
        while i < bytes.count {
            if bytes[i] == cr {
                guard i + 1 < bytes.count, bytes[i + 1] == lf else { return .failure(.bad("bare CR in header section")) }
                lines.append(UnsafeBufferPointer(rebasing: bytes[lineStart..<i]))
                i += 2; lineStart = i
                continue
            }
            i += 1
        }
        lines.append(UnsafeBufferPointer(rebasing: bytes[lineStart..<bytes.count]))
        if lines.count - 1 > limits.maxHeaderCount {
            return .failure(HTTPParseError(status: 431, "more than \(limits.maxHeaderCount) header fields"))
        }

        // Request line: method SP target SP HTTP-version.
        let line = lines[0]
        guard let sp1 = line.firstIndex(of: sp), let sp2 = line[(sp1 + 1)...].firstIndex(of: sp) else {
            return .failure(.bad("malformed request line"))
        }
        let methodBytes = line[0..<sp1], targetBytes = line[(sp1 + 1)..<sp2], versionBytes = line[(sp2 + 1)...]
        guard !methodBytes.isEmpty, methodBytes.allSatisfy(isTokenByte) else { return .failure(.bad("invalid method")) }
        guard !targetBytes.isEmpty, targetBytes.allSatisfy({ $0 > 32 && $0 < 127 }) else {
            return .failure(.bad("invalid request target"))
        }
        let v = Array(versionBytes)
        guard v.count == 8, v[0..<5].elementsEqual("HTTP/".utf8), v[6] == 46,
              let major = digitValue(v[5]), let minor = digitValue(v[7]) else {
            return .failure(.bad("invalid HTTP version"))
        }
        guard major == 1 else { return .failure(HTTPParseError(status: 505, "HTTP/\(major).\(minor) is not supported")) }

        var headers = HTTPHeaders()
        for line in lines.dropFirst() {
            switch parseField(line) {
            case .failure(let e): return .failure(e)
            case .success(let f): headers.add(f.name, f.value)
            }
        }
        let method = String(decoding: methodBytes, as: UTF8.self)
        let target = String(decoding: targetBytes, as: UTF8.self)
        let version = (major: 1, minor: minor == 0 ? 0 : 1)
        return framedHead(method: method, target: target, version: version, headers: headers)
    }

    /// Parses `name: value`, rejecting obs-fold, whitespace before the colon and control characters.
    static func parseField(_ line: UnsafeBufferPointer<UInt8>) -> Result<(name: String, value: String), HTTPParseError> {
        guard let first = line.first else { return .failure(.bad("empty header line")) }
        if first == sp || first == tab { return .failure(.bad("obsolete line folding is not accepted")) }
        guard let c = line.firstIndex(of: colon), c > 0 else { return .failure(.bad("header field without a name")) }
        guard line[0..<c].allSatisfy(isTokenByte) else { return .failure(.bad("invalid header field name")) }
        var lo = c + 1, hi = line.count
        while lo < hi && (line[lo] == sp || line[lo] == tab) { lo += 1 }
        while hi > lo && (line[hi - 1] == sp || line[hi - 1] == tab) { hi -= 1 }
        let value = line[lo..<hi]
        if value.contains(where: isControl) { return .failure(.bad("control character in header field value")) }
        return .success((String(decoding: line[0..<c], as: UTF8.self), String(decoding: value, as: UTF8.self)))
    }

    /// Applies RFC 9112 §6.1–6.3 (message body length) and the connection and expectation rules.
    static func framedHead(method: String, target: String, version: (major: Int, minor: Int),
                           headers: HTTPHeaders) -> Result<HTTPRequestHead, HTTPParseError> {
        var framing = HTTPRequestHead.Framing.none
        let te = headers.values("Transfer-Encoding")
        let cl = headers.values("Content-Length")
        if !te.isEmpty {
            guard cl.isEmpty else { return .failure(.bad("both Transfer-Encoding and Content-Length")) }
            guard version.minor == 1 else { return .failure(.bad("Transfer-Encoding in an HTTP/1.0 request")) }
            let codings = te.flatMap { $0.split(separator: ",") }
                .map { $0.trimmingOWS().lowercased() }.filter { !$0.isEmpty }
            guard codings.last == "chunked", codings.filter({ $0 == "chunked" }).count == 1 else {
                return .failure(.bad("Transfer-Encoding must end with a single chunked"))
            }
            guard codings.count == 1 else { return .failure(HTTPParseError(status: 501, "unsupported transfer coding")) }
            framing = .chunked
        } else if !cl.isEmpty {
            var length: Int?
            for item in cl.flatMap({ $0.split(separator: ",", omittingEmptySubsequences: false) }) {
                let s = item.trimmingOWS()
                guard !s.isEmpty, s.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else {
                    return .failure(.bad("invalid Content-Length"))
                }
                guard s.utf8.count <= 18, let n = Int(s) else { return .failure(.bad("Content-Length too large")) }
                if let l = length, l != n { return .failure(.bad("conflicting Content-Length values")) }
                length = n
            }
            framing = .length(length ?? 0)
        }
        let hosts = headers.values("Host")
        if version.minor == 1 && hosts.count != 1 || hosts.count > 1 {
            return .failure(.bad("a request needs exactly one Host header"))
        }
        let connection = headers.values("Connection").flatMap { $0.split(separator: ",") }.map { $0.trimmingOWS().lowercased() }
        let keepAlive = version.minor == 1 ? !connection.contains("close") : connection.contains("keep-alive")
        var expectsContinue = false
        if let expect = headers["Expect"] {
            guard expect.lowercased() == "100-continue" else {
                return .failure(HTTPParseError(status: 417, "unsupported expectation"))
            }
            expectsContinue = version.minor == 1
        }
        return .success(HTTPRequestHead(method: method, target: target, version: version, headers: headers,
                                        framing: framing, keepAlive: keepAlive, expectsContinue: expectsContinue))
    }
}

@inline(__always) func digitValue(_ b: UInt8) -> Int? { b >= 48 && b <= 57 ? Int(b - 48) : nil }

/// RFC 9110 tchar.
@inline(__always) func isTokenByte(_ b: UInt8) -> Bool {
    switch b {
    case 48...57, 65...90, 97...122: return true
    case 33, 35, 36, 37, 38, 39, 42, 43, 45, 46, 94, 95, 96, 124, 126: return true
    default: return false
    }
}

extension StringProtocol {
    /// Drops leading and trailing spaces and tabs.
    func trimmingOWS() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}
