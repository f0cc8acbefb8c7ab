/// Finds added tokens in scalar text, leftmost first and longest among those starting at one place.
struct AddedTokenMatcher: Sendable {
    /// A trie over the tokens' scalars: children of each node, and the token that ends there (-1 none).
    private var children: [[UInt32: Int32]] = [[:]]
    private var terminal: [Int32] = [-1]
    private var tokens: [AddedToken] = []

    init(_ added: [AddedToken]) {
        for token in added where !token.content.isEmpty {
            var node = 0
            for scalar in token.content.unicodeScalars {
                if let child = children[node][scalar.value] {
                    node = Int(child)
                } else {
                    children.append([:]); terminal.append(-1)
                    children[node][scalar.value] = Int32(children.count - 1)
                    node = children.count - 1
                }
            }
            if terminal[node] < 0 {  // the first of equal contents wins
                terminal[node] = Int32(tokens.count)
                tokens.append(token)
            }
        }
    }

    var isEmpty: Bool { tokens.isEmpty }

    /// The longest token starting at scalar `i`, and where it ends.
    @inline(__always)
    private func longest(at i: Int, _ s: [UInt32]) -> (token: AddedToken, end: Int)? {
        var node = 0, j = i
        var found: (token: AddedToken, end: Int)?
        while j < s.count, let child = children[node][s[j]] {
            node = Int(child)
            j += 1
            if terminal[node] >= 0 { found = (tokens[Int(terminal[node])], j) }
        }
        return found
    }

    /// Cuts `text` into plain stretches (id nil) and added tokens (their id), in order.
    func segments(_ text: ScalarText) -> [(range: Range<Int>, id: Int32?)] {
        let count = text.count
        guard !tokens.isEmpty else { return count > 0 ? [(0..<count, nil)] : [] }
        var result: [(range: Range<Int>, id: Int32?)] = []
        var plainStart = 0
        var i = 0
        let s = text.scalars
        while i < count {
            guard let found = longest(at: i, s) else {
                i += 1
                continue
            }
            var start = i, end = found.end
            if found.token.leftStrip {
                while start > plainStart && text.classes[start - 1] & ScalarText.space != 0 { start -= 1 }
            }
            if found.token.rightStrip {
                while end < count && text.classes[end] & ScalarText.space != 0 { end += 1 }
            }
            if plainStart < start { result.append((plainStart..<start, nil)) }
            result.append((start..<end, found.token.id))
            plainStart = end
            i = end
        }
        if plainStart < count { result.append((plainStart..<count, nil)) }
        return result
    }
}
