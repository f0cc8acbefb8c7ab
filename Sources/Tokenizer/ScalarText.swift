/// Text decoded once into Unicode scalars with the character classes the split patterns ask about,
/// and each scalar's offset into the UTF-8 bytes.
struct ScalarText {
    static let letter: UInt8 = 1      // \p{L}
    static let number: UInt8 = 2      // \p{N}
    static let space: UInt8 = 4       // \s (White_Space)
    static let newline: UInt8 = 8     // \r or \n

    /// The scalars' values. // (S)
    var scalars: [UInt32] = []
    /// Class bits of each scalar. // (S)
    var classes: [UInt8] = []
    /// UTF-8 offset of each scalar, plus the total length at the end. // (S + 1)
    var byteOffsets: [Int32] = []
    /// The text's UTF-8 bytes. // (B)
    var bytes: [UInt8] = []

    init(_ text: String) {
        bytes = Array(text.utf8)
        scalars.reserveCapacity(bytes.count)
        classes.reserveCapacity(bytes.count)
        byteOffsets.reserveCapacity(bytes.count + 1)
        var offset: Int32 = 0
        for scalar in text.unicodeScalars {
            let value = scalar.value
            scalars.append(value)
            classes.append(value < 128 ? ScalarText.asciiClasses[Int(value)] : ScalarText.classify(scalar))
            byteOffsets.append(offset)
            offset += value < 0x80 ? 1 : value < 0x800 ? 2 : value < 0x10000 ? 3 : 4
        }
        byteOffsets.append(offset)
    }

    var count: Int { scalars.count }

    static let asciiClasses: [UInt8] = (0..<128).map { classify(Unicode.Scalar(UInt8($0))) }

    static func classify(_ scalar: Unicode.Scalar) -> UInt8 {
        let properties = scalar.properties
        var bits: UInt8 = properties.isWhitespace ? space : 0
        if scalar.value == 0x0A || scalar.value == 0x0D { bits |= newline }
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: bits |= letter
        case .decimalNumber, .letterNumber, .otherNumber: bits |= number
        default: break
        }
        return bits
    }
}
