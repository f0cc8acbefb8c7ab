// Hand-written scanners for the split regexes, with the regexes' leftmost-first alternation and
// backtracking semantics. The end of `range` is the end of the input (lookaheads see nothing past it).

extension PreTokenizer {
    private static let apostrophe: UInt32 = 0x27
    private static let blank: UInt32 = 0x20

    /// The length of a contraction (`'s|'t|'re|'ve|'m|'ll|'d`) starting at `i`, or 0.
    @inline(__always)
    private static func contraction(_ s: UnsafeBufferPointer<UInt32>, _ i: Int, _ end: Int, caseless: Bool) -> Int {
        guard s[i] == apostrophe, i + 1 < end else { return 0 }
        func lower(_ v: UInt32) -> UInt32 { caseless && v >= 0x41 && v <= 0x5A ? v + 0x20 : v }
        let a = lower(s[i + 1])
        if a == 0x73 || a == 0x74 || a == 0x6D || a == 0x64 { return 2 }  // s t m d
        guard i + 2 < end else { return 0 }
        let b = lower(s[i + 2])
        if (a == 0x72 && b == 0x65) || (a == 0x76 && b == 0x65) || (a == 0x6C && b == 0x6C) { return 3 }  // re ve ll
        return 0
    }

    /// The end of the run of scalars from `i` whose classes satisfy `test`.
    @inline(__always)
    private static func run(_ c: UnsafeBufferPointer<UInt8>, from i: Int, _ end: Int, _ test: (UInt8) -> Bool) -> Int {
        var j = i
        while j < end && test(c[j]) { j += 1 }
        return j
    }

    @inline(__always) private static func isOther(_ k: UInt8) -> Bool { k & (ScalarText.letter | ScalarText.number | ScalarText.space) == 0 }
    @inline(__always) private static func isLetter(_ k: UInt8) -> Bool { k & ScalarText.letter != 0 }
    @inline(__always) private static func isNumber(_ k: UInt8) -> Bool { k & ScalarText.number != 0 }
    @inline(__always) private static func isSpace(_ k: UInt8) -> Bool { k & ScalarText.space != 0 }

    /// `\s+(?!\S)|\s+` at a whitespace scalar `i`: the run, less its last scalar when a non-space follows
    /// and the run is longer than one.
    @inline(__always)
    private static func whitespaceEnd(_ c: UnsafeBufferPointer<UInt8>, _ i: Int, _ end: Int) -> Int {
        let j = run(c, from: i, end, isSpace)
        if j == end || j - i == 1 { return j }
        return j - 1
    }

    /// GPT-2: `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`.
    static func scanGPT2(_ text: ScalarText, _ range: Range<Int>, into words: inout [Range<Int>]) {
        text.scalars.withUnsafeBufferPointer { s in
            text.classes.withUnsafeBufferPointer { c in
                let end = range.upperBound
                var i = range.lowerBound
                while i < end {
                    var j: Int
                    let n = contraction(s, i, end, caseless: false)
                    if n > 0 {
                        j = i + n
                    } else {
                        // ` ?X+` for X in letters, numbers, others: the optional space is taken when X follows.
                        let start = (s[i] == blank && i + 1 < end && !isSpace(c[i + 1])) ? i + 1 : i
                        let k = c[start]
                        if isLetter(k) {
                            j = run(c, from: start, end, isLetter)
                        } else if isNumber(k) {
                            j = run(c, from: start, end, isNumber)
                        } else if isOther(k) {
                            j = run(c, from: start, end, isOther)
                        } else {
                            j = whitespaceEnd(c, i, end)
                        }
                    }
                    words.append(i..<j)
                    i = j
                }
            }
        }
    }

    /// Llama 3 (`maxDigits` 3) and Qwen 2 (`maxDigits` 1):
    /// `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`.
    static func scanLlama3(_ text: ScalarText, _ range: Range<Int>, maxDigits: Int, into words: inout [Range<Int>]) {
        text.scalars.withUnsafeBufferPointer { s in
            text.classes.withUnsafeBufferPointer { c in
                let end = range.upperBound
                var i = range.lowerBound
                while i < end {
                    let k = c[i]
                    var j: Int
                    let n = contraction(s, i, end, caseless: true)
                    if n > 0 {
                        j = i + n
                    } else if isLetter(k) {
                        j = run(c, from: i, end, isLetter)
                    } else if k & (ScalarText.number | ScalarText.newline) == 0, i + 1 < end, isLetter(c[i + 1]) {
                        j = run(c, from: i + 1, end, isLetter)
                    } else if isNumber(k) {
                        j = i + 1
                        while j < end && j - i < maxDigits && isNumber(c[j]) { j += 1 }
                    } else if isOther(k) || (s[i] == blank && i + 1 < end && isOther(c[i + 1])) {
                        j = run(c, from: isOther(k) ? i : i + 1, end, isOther)
                        j = run(c, from: j, end) { $0 & ScalarText.newline != 0 }
                    } else {
                        // Whitespace. `\s*[\r\n]+`: up to the last \r or \n of the run, if it has one.
                        let runEnd = run(c, from: i, end, isSpace)
                        var last = runEnd - 1
                        while last >= i && c[last] & ScalarText.newline == 0 { last -= 1 }
                        j = last >= i ? last + 1 : whitespaceEnd(c, i, end)
                    }
                    words.append(i..<j)
                    i = j
                }
            }
        }
    }
}
