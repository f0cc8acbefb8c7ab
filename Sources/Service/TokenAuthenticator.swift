import Foundation

/// Maps `Authorization: Bearer <token>` to the token's name by comparing SHA-256 hashes, so the
/// configuration never holds a token in clear.
public struct TokenAuthenticator: Sendable {
    private let owners: [String: String]   // sha256 hex → name

    public init(tokens: [ServiceConfig.Token]) {
        var m: [String: String] = [:]
        for t in tokens { m[t.sha256.lowercased()] = t.name }
        owners = m
    }

    /// `.success(owner)`, or the 401 problem.
    public func authenticate(_ authorization: String?) -> Result<String, Problem> {
        guard let header = authorization?.trimmingCharacters(in: .whitespaces), !header.isEmpty else {
            return .failure(.unauthorized("send Authorization: Bearer <token>", invalidToken: false))
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            return .failure(.unauthorized("the Authorization scheme must be Bearer", invalidToken: false))
        }
        let token = parts[1].trimmingCharacters(in: .whitespaces)
        guard let owner = owners[SHA256.hex(of: Array(token.utf8))] else {
            return .failure(.unauthorized("the bearer token is not known", invalidToken: true))
        }
        return .success(owner)
    }
}
