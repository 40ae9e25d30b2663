/// A set of code points as sorted, disjoint, inclusive ranges stored flat (`[low, high, low, high, …]`),
/// looked up by binary search: the tables of UnicodeTables.swift.
/// A table may give each range a value (`value(of:)`).
struct UnicodeRanges: Sendable {
    private let bounds: [UInt32]
    private let values: [UInt8]

    init(_ bounds: [UInt32], values: [UInt8] = []) {
        precondition(bounds.count % 2 == 0, "ranges come in low/high pairs")
        precondition(values.isEmpty || values.count == bounds.count / 2, "one value per range")
        self.bounds = bounds
        self.values = values
    }

    func contains(_ scalar: Unicode.Scalar) -> Bool { range(of: scalar) != nil }

    /// The value of the range holding the scalar, or nil.
    func value(of scalar: Unicode.Scalar) -> UInt8? { range(of: scalar).map { values[$0] } }

    private func range(of scalar: Unicode.Scalar) -> Int? {
        let value = scalar.value
        var low = 0, high = bounds.count / 2
        while low < high {
            let middle = (low + high) / 2
            if value > bounds[2 * middle + 1] {
                low = middle + 1
            } else if value < bounds[2 * middle] {
                high = middle
            } else {
                return middle
            }
        }
        return nil
    }
}

/// Which Unicode version a library of `tokenizers` knows a character from. Properties that never
/// change once a character is assigned (decompositions, combining classes, and in practice case
/// mappings) are Swift's own for the characters that version knows; the rest it leaves alone.
enum UnicodeAge {
    /// True if the scalar was assigned in Unicode `major.minor` or before.
    static func assigned(_ scalar: Unicode.Scalar, by major: Int, _ minor: Int) -> Bool {
        if scalar.isASCII { return true }
        guard let age = scalar.properties.age else { return false }
        return age.major < major || (age.major == major && age.minor <= minor)
    }

    /// unicode-normalization-alignments 0.1.12 (NFD, NFKD, NFC, NFKC of `tokenizers`) is at Unicode 9.0.
    static func normalizable(_ scalar: Unicode.Scalar) -> Bool { assigned(scalar, by: 9, 0) }

    /// Rust 1.77's `char::to_lowercase` (the wheel of `tokenizers` 0.19.1) is at Unicode 15.1.
    static func lowercasable(_ scalar: Unicode.Scalar) -> Bool { assigned(scalar, by: 15, 1) }
}
