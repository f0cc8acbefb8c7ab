import Foundation
import HTTP
import Jobs

/// One downloadable file of a job.
struct ArtifactResource: Encodable {
    var object = "artifact"
    var name: String
    var size: Int
    var sha256: String
    var url: String
}

extension SurgeonService {
    /// Regular files at the top of the job's output directory.
    func artifactFiles(_ job: Job) throws -> [(name: String, path: String)] {
        let dir = try manager.outputDirectory(of: job.id)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.sorted().compactMap { name in
            guard NameRules.isValid(name) else { return nil }
            let path = dir.appendingPathComponent(name).path
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue else { return nil }
            return (name, path)
        }
    }

    func listArtifacts(_ c: RouteContext) throws -> HTTPResponse {
        let job = try ownedJob(c)
        let items = try artifactFiles(job).map { f -> ArtifactResource in
            let (d, size) = try digests.digest(of: f.path)
            return ArtifactResource(name: f.name, size: size, sha256: SHA256.hex(d), url: "/v1/jobs/\(job.id)/artifacts/\(f.name)")
        }
        return Reply.json(200, Reply.Page(data: items, hasMore: false, nextCursor: nil), headers: jobHeaders(job))
    }

    /// GET/HEAD of one artifact with ranges, strong ETag (sha256), conditional requests and digest.
    func getArtifact(_ c: RouteContext) throws -> HTTPResponse {
        let job = try ownedJob(c)
        let name = c.param("name")
        guard NameRules.isValid(name), let file = try artifactFiles(job).first(where: { $0.name == name }) else {
            throw Problem.notFound("artifact \(name.prefix(140))")
        }
        let (digest, size) = try digests.digest(of: file.path)
        let etag = "\"\(SHA256.hex(digest))\""
        var headers = HTTPHeaders([
            ("Accept-Ranges", "bytes"), ("ETag", etag),
            ("Repr-Digest", "sha-256=:\(Data(digest).base64EncodedString()):"),
            ("Content-Disposition", "attachment; filename=\"\(name)\""),
        ])
        if let inm = c.request.headers["If-None-Match"],
           inm.split(separator: ",").contains(where: { let t = $0.trimmingCharacters(in: .whitespaces); return t == etag || t == "*" || t == "W/" + etag }) {
            return HTTPResponse(status: 304, headers: headers)
        }
        headers["Content-Type"] = name.hasSuffix(".json") ? "application/json" : "application/octet-stream"
        var rangeHeader = c.request.headers["Range"]
        if let ifRange = c.request.headers["If-Range"], ifRange.trimmingCharacters(in: .whitespaces) != etag { rangeHeader = nil }
        switch ByteRange.parse(rangeHeader, size: size) {
        case .whole:
            var r = HTTPResponse(status: 200, headers: headers, body: .file(path: file.path, offset: 0, length: size))
            r.compression = .none
            return r
        case .unsatisfiable:
            var p = Problem.rangeNotSatisfiable(size: size)
            p.headers.append(("Accept-Ranges", "bytes"))
            throw p
        case .partial(let start, let length):
            headers["Content-Range"] = "bytes \(start)-\(start + length - 1)/\(size)"
            headers["Content-Type"] = "application/octet-stream"   // a slice of a JSON file is not JSON
            var r = HTTPResponse(status: 206, headers: headers, body: .file(path: file.path, offset: start, length: length))
            r.compression = .none
            return r
        }
    }

    /// The whole output directory (artifacts and checkpoints) as a streamed `.tar.gz`.
    func archive(_ c: RouteContext) throws -> HTTPResponse {
        let job = try ownedJob(c)
        let dir = try manager.outputDirectory(of: job.id)
        let prefix = job.id
        let headers = HTTPHeaders([("Content-Type", "application/gzip"),
                                   ("Content-Disposition", "attachment; filename=\"\(job.id).tar.gz\"")])
        var response = HTTPResponse(status: 200, headers: headers, body: .stream { writer in
            let gzip = try GzipStream()
            var tar = TarWriter { bytes in
                let out = try gzip.update(bytes)
                if !out.isEmpty { try writer.write(out) }
            }
            try tar.appendDirectory(dir, as: prefix)
            try tar.finish()
            try writer.write(try gzip.finish())
        })
        response.compression = .none
        return response
    }
}
