import Foundation
import HTTP
import Jobs

/// The two kinds of stored input files.
enum BlobKind: String, CaseIterable, Sendable {
    case models, texts
    var singular: String { self == .models ? "model" : "text" }
}

/// A model or text as clients see it.
struct BlobResource: Encodable {
    var object: String
    var name: String
    var size: Int
    var sha256: String
    var source: String
    var createdAt: Date
    var model: ModelSummary?
    var inspectionError: String?
    enum CodingKeys: String, CodingKey {
        case object, name, size, sha256, source, model, createdAt = "created_at", inspectionError = "inspection_error"
    }
    init(_ kind: BlobKind, _ b: BlobInfo) {
        object = kind.singular; name = b.name; size = b.size; sha256 = b.sha256; source = b.source; createdAt = b.createdAt
        model = b.model; inspectionError = b.inspectionError
    }
}

extension SurgeonService {
    func store(_ kind: BlobKind) -> BlobStore { kind == .models ? models : texts }

    func validName(_ name: String) throws -> String {
        guard NameRules.isValid(name) else { throw NameRules.problem(name) }
        return name
    }

    func listBlobs(_ kind: BlobKind, _ c: RouteContext) throws -> HTTPResponse {
        let items = store(kind).list(owner: c.owner).map { BlobResource(kind, $0) }
        return Reply.json(200, Reply.Page(data: items, hasMore: false, nextCursor: nil))
    }

    func getBlob(_ kind: BlobKind, _ c: RouteContext) throws -> HTTPResponse {
        let name = try validName(c.param("name"))
        guard let info = store(kind).get(owner: c.owner, name: name) else { throw Problem.notFound("\(kind.singular) \(name)") }
        return Reply.json(200, BlobResource(kind, info), headers: [("ETag", "\"\(info.sha256)\"")])
    }

    func deleteBlob(_ kind: BlobKind, _ c: RouteContext) throws -> HTTPResponse {
        let name = try validName(c.param("name"))
        do { try store(kind).delete(owner: c.owner, name: name) } catch { throw Problem.notFound("\(kind.singular) \(name)") }
        return Reply.noContent()
    }

    func uploadBlob(_ kind: BlobKind, _ c: RouteContext) throws -> HTTPResponse {
        let name = try validName(c.param("name"))
        if let len = c.request.headers["Content-Length"].flatMap(Int.init), len > config.maxUploadBytes {
            throw Problem.tooLarge(limit: config.maxUploadBytes)
        }
        let body = try Self.nonEmpty(c.request.body)
        do {
            let (info, created) = try store(kind).upload(owner: c.owner, name: name, body: body, limit: config.maxUploadBytes,
                                                         now: clock.now(), describe: describer(kind))
            return Reply.json(created ? 201 : 200, BlobResource(kind, info),
                              headers: [("Location", "/v1/\(kind.rawValue)/\(name)"), ("ETag", "\"\(info.sha256)\"")])
        } catch let e as BlobError {
            throw problem(e)
        }
    }

    /// The body, refused with 400 when it has no bytes at all (an empty model or text is a mistake,
    /// and an existing file must not be replaced by one). Reads the first chunk to know.
    static func nonEmpty(_ body: HTTPBodyReader) throws -> HTTPBodyReader {
        var first: [UInt8]?
        repeat { first = try body.read() } while first?.isEmpty == true
        guard let first else { throw Problem.invalidBody("the request body is empty; send the file's bytes (curl -T FILE)") }
        final class Pending: @unchecked Sendable { var chunk: [UInt8]? }
        let pending = Pending()
        pending.chunk = first
        return HTTPBodyReader { max in
            if let chunk = pending.chunk {
                pending.chunk = nil
                return chunk
            }
            return try body.read(maxBytes: max)
        }
    }

    func registerBlob(_ kind: BlobKind, _ c: RouteContext) throws -> HTTPResponse {
        let body = try Reply.jsonObject(c.request, limit: config.maxJSONBytes)
        var errors: [Problem.FieldError] = []
        let name = body["name"]?.string
        let path = body["path"]?.string
        if name == nil { errors.append(.init("/name", "required string")) } else if !NameRules.isValid(name!) {
            errors.append(.init("/name", "use 1-128 of A-Z a-z 0-9 . _ -, starting with a letter or digit"))
        }
        if path == nil { errors.append(.init("/path", "required string: a file on the server")) }
        for key in body.keys where key != "name" && key != "path" { errors.append(.init("/\(key)", "unknown field")) }
        guard errors.isEmpty, let name, let path else { throw Problem.validation(errors) }
        do {
            let info = try store(kind).register(owner: c.owner, name: name, path: path, roots: config.allowedRoots,
                                                now: clock.now(), describe: describer(kind))
            return Reply.json(201, BlobResource(kind, info), headers: [("Location", "/v1/\(kind.rawValue)/\(name)")])
        } catch let e as BlobError {
            throw problem(e)
        }
    }

    /// Reads a model's header for its description, before the store publishes it (texts have none).
    func describer(_ kind: BlobKind) -> BlobStore.Describe {
        { path in
            guard kind == .models else { return (nil, nil) }
            do { return (try ModelSummary.read(path: path), nil) } catch { return (nil, String(describing: error)) }
        }
    }

    func problem(_ e: BlobError) -> Problem {
        switch e {
        case .tooLarge(let limit): return .tooLarge(limit: limit)
        case .diskFull(let m): return .insufficientStorage("the server ran out of disk space (\(m)); nothing was stored")
        case .io(let m): return .internalError(m)
        case .notFound(let name): return .notFound(name)
        case .pathRefused: return .pathNotAllowed()
        case .nameTaken(let n): return .nameTaken(n)
        case .clientGone: return Problem("client_gone", 400, "Bad Request", "the upload body ended early or broke its framing")
        }
    }
}
