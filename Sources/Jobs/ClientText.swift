import Foundation

/// The one place where internal text (an error's description, a runner's log line, a report's evaluation
/// protocol) becomes text a client may see: no server paths, and so no owner names (which only appear inside
/// paths). Known places become names the client knows (`model "tiny.gguf"`, `the job's output`, `the data
/// directory`); any other absolute path left becomes `(a server path)`. Logs keep the full text.
///
/// `JobManager` scrubs everything it stores for clients (job errors, event messages, progress, the report's
/// `evaluation`) with its `clientText` plus the job's own places (`forJob`); the service scrubs problem details.
public struct ClientText: Sendable, Equatable {
    /// One known place: the path and what clients are told instead. `keepsRest`: a path below it keeps its
    /// relative part (`the job's output/report.json`: the client's own files); otherwise the whole path becomes
    /// the name (below the data directory lie other owners' names).
    public struct Place: Sendable, Equatable {
        public var path: String
        public var name: String
        public var keepsRest: Bool
        public init(_ path: String, _ name: String, keepsRest: Bool = false) {
            self.path = path; self.name = name; self.keepsRest = keepsRest
        }
    }

    /// Known places, longest path first (so a job's output wins over the data directory holding it).
    public private(set) var places: [Place] = []

    /// What any other absolute path becomes.
    public static let serverPath = "(a server path)"

    public init(places: [Place] = []) {
        for p in places { add(p.path, as: p.name, keepsRest: p.keepsRest) }
    }

    /// Adds `path` (and its resolved form when symlinks differ) as `name`.
    public mutating func add(_ path: String, as name: String, keepsRest: Bool = false) {
        var forms = [Self.trimmed(path)]
        if let real = Self.realPath(path), !forms.contains(real) { forms.append(real) }
        for f in forms where f.count > 1 && f.hasPrefix("/") && !places.contains(where: { $0.path == f }) {
            places.append(Place(f, name, keepsRest: keepsRest))
        }
        places.sort { $0.path.count > $1.path.count }
    }

    /// The places of one job on top of these: its output and job directories, its inputs by role and name,
    /// and whatever else its resolved request reads (the server's default calibration text).
    public func forJob(_ spec: JobSpec, directory: URL?) -> ClientText {
        var c = self
        for input in spec.inputs { c.add(input.path, as: "\(input.role) \"\(input.name)\"") }
        if spec.resolved.model != spec.request.model { c.add(spec.resolved.model, as: "model \"\(spec.request.model)\"") }
        if spec.resolved.calibration != spec.request.calibration {
            c.add(spec.resolved.calibration, as: spec.request.calibration.isEmpty
                  ? "the server's default calibration text" : "calibration \"\(spec.request.calibration)\"")
        }
        if let e = spec.resolved.eval, let name = spec.request.eval, e != name { c.add(e, as: "eval \"\(name)\"") }
        if let directory {
            c.add(directory.appendingPathComponent("output").path, as: "the job's output", keepsRest: true)
            c.add(directory.path, as: "the job's directory", keepsRest: true)
        }
        return c
    }

    /// `text` with every known place replaced by its name and every other absolute path by `serverPath`.
    public func scrub(_ text: String) -> String {
        guard text.contains("/") else { return text }
        return Self.scrubAbsolutePaths(replacingPlaces(in: text))
    }

    /// `text` with the known places replaced and nothing else (for text that echoes the client's own input,
    /// such as a route it asked for).
    public func replacingPlaces(in text: String) -> String {
        guard text.contains("/") else { return text }
        var out = text
        for p in places where out.contains(p.path) { out = Self.replace(p, in: out) }
        return out
    }

    /// The client's text for an error: its description, scrubbed.
    public func describe(_ error: Error) -> String { scrub(String(describing: error)) }

    // MARK: Matching

    /// Replaces `place.path` where it is a whole path or a prefix ending at `/` (not `/data2` for `/data`).
    private static func replace(_ place: Place, in text: String) -> String {
        var out = ""
        var rest = Substring(text)
        while let range = rest.range(of: place.path) {
            let after = rest[range.upperBound...].first
            let before = rest[..<range.lowerBound].last
            let startsPath = before == nil || !isPathCharacter(before!) || before == "/"
            if startsPath && (after == nil || after == "/" || !isPathCharacter(after!)) {
                out += rest[..<range.lowerBound] + place.name
                rest = rest[range.upperBound...]
                if !place.keepsRest { rest = rest.drop { isPathCharacter($0) } }
            } else {
                out += rest[..<range.upperBound]
                rest = rest[range.upperBound...]
            }
        }
        return out + rest
    }

    /// Characters that continue a path (a path ends at white space, quotes, brackets and punctuation after it).
    private static func isPathCharacter(_ c: Character) -> Bool {
        c.isLetter || c.isNumber || "/._-~+@%".contains(c)
    }

    /// Replaces each remaining absolute path: a `/` that starts a token (at the start, or after white space,
    /// a quote, a bracket, `=`, `:` or `,`) followed by a path character, up to the end of the token.
    /// API routes (`/v1/…`) stay.
    static func scrubAbsolutePaths(_ text: String) -> String {
        var out = ""
        let chars = Array(text)
        var i = 0
        while i < chars.count {
            let c = chars[i]
            let startsToken = i == 0 || " \t\n\"'`([{<=:,".contains(chars[i - 1])
            if c == "/", startsToken, i + 1 < chars.count, isPathCharacter(chars[i + 1]), chars[i + 1] != "/" {
                var j = i + 1
                while j < chars.count, isPathCharacter(chars[j]) { j += 1 }
                // A trailing period or comma ends the sentence, not the path.
                while j > i + 1, ".,".contains(chars[j - 1]) { j -= 1 }
                let token = String(chars[i..<j])
                // The API's own routes (`/v1/jobs/…`) are what clients call, not server paths.
                out += token.hasPrefix("/v1/") || token == "/v1" ? token : serverPath
                i = j
                continue
            }
            out.append(c)
            i += 1
        }
        return out
    }

    private static func trimmed(_ path: String) -> String {
        var p = path
        while p.count > 1 && p.hasSuffix("/") { p.removeLast() }
        return p
    }

    private static func realPath(_ path: String) -> String? {
        guard let p = realpath(path, nil) else { return nil }
        defer { free(p) }
        return String(cString: p)
    }
}
