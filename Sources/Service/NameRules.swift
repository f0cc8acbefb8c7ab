/// Names of models, texts and artifacts: 1–128 characters of `A–Z a–z 0–9 . _ -`, starting with a
/// letter or digit, so they never traverse (`..`, `/`) or hide (leading dot).
public enum NameRules {
    public static func isValid(_ name: String) -> Bool {
        guard (1...128).contains(name.utf8.count), let first = name.utf8.first else { return false }
        func ok(_ c: UInt8) -> Bool {
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x2E || c == 0x5F || c == 0x2D
        }
        let alnum = (first >= 0x30 && first <= 0x39) || (first >= 0x41 && first <= 0x5A) || (first >= 0x61 && first <= 0x7A)
        return alnum && name.utf8.allSatisfy(ok) && !name.contains("..")
    }

    /// The problem for an invalid `name`.
    static func problem(_ name: String) -> Problem {
        Problem.invalidName("\(name.prefix(140)) is not a valid name: use 1-128 of A-Z a-z 0-9 . _ -, starting with a letter or digit, without ..")
    }
}
