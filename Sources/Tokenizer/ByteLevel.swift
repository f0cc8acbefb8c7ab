/// GPT-2's byte-level alphabet: every byte spelled as a printable Unicode scalar, so that vocabulary
/// entries are strings (`bytes_to_unicode` in GPT-2's encoder.py).
enum ByteLevel {
    /// The scalar that spells each byte.
    static let scalarOfByte: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        var extra: UInt32 = 256
        for byte in 0..<256 {
            let printable = (33...126).contains(byte) || (161...172).contains(byte) || (174...255).contains(byte)
            if printable {
                table[byte] = Unicode.Scalar(UInt32(byte))!
            } else {
                table[byte] = Unicode.Scalar(extra)!
                extra += 1
            }
        }
        return table
    }()

    /// The byte each alphabet scalar spells, indexed by scalar value (0..<324); -1 outside the alphabet.
    static let byteOfScalar: [Int16] = {
        var table = [Int16](repeating: -1, count: 324)
        for (byte, scalar) in scalarOfByte.enumerated() { table[Int(scalar.value)] = Int16(byte) }
        return table
    }()

    /// Spells bytes in the alphabet.
    static func encode<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        var view = String.UnicodeScalarView()
        for byte in bytes { view.append(scalarOfByte[Int(byte)]) }
        return String(view)
    }

    /// The bytes a token spells, or nil when it has a scalar outside the alphabet.
    static func decode(_ token: String) -> [UInt8]? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(token.unicodeScalars.count)
        for scalar in token.unicodeScalars {
            let value = Int(scalar.value)
            guard value < byteOfScalar.count, byteOfScalar[value] >= 0 else { return nil }
            bytes.append(UInt8(byteOfScalar[value]))
        }
        return bytes
    }

    /// Whether every scalar of the token is in the alphabet.
    static func isSpelled(_ token: String) -> Bool { decode(token) != nil }
}
