/// Extended grapheme clusters as `unicode-segmentation` 1.11.0 finds them (what `tokenizers` 0.19.1
/// links): its Unicode 15.1 Grapheme_Cluster_Break table, and the rules of UAX #29 without GB9c.
/// Swift's own `Character` follows a newer Unicode, whose clusters differ where new combining marks
/// follow a character the Precompiled normalizer replaces.
enum GraphemeBreak: UInt8, CaseIterable {
    case any, cr, lf, control, extend, zwj, spacingMark, prepend, regionalIndicator, extendedPictographic, l, v, t, lv, lvt

    init(_ scalar: Unicode.Scalar) {
        let value = scalar.value
        if value < 0x7F {
            self = value == 0x0D ? .cr : value == 0x0A ? .lf : value < 0x20 ? .control : .any
        } else if (0xAC00...0xD7A3).contains(value) {
            self = (value - 0xAC00) % 28 == 0 ? .lv : .lvt  // Hangul syllables, left out of the table
        } else {
            self = UnicodeTables.graphemeBreak.value(of: scalar).flatMap { GraphemeBreak(rawValue: $0) } ?? .any
        }
    }

    /// The clusters of `scalars`, as index ranges in order.
    static func clusters(_ scalars: [Unicode.Scalar]) -> [Range<Int>] {
        guard !scalars.isEmpty else { return [] }
        var clusters: [Range<Int>] = []
        var start = 0
        var previous = GraphemeBreak(scalars[0])
        var regionalRun = previous == .regionalIndicator ? 1 : 0  // regional indicators ending at `previous`
        var inEmoji = previous == .extendedPictographic          // Extended_Pictographic Extend* so far
        var emojiJoiner = false                                   // … then a ZWJ
        for index in 1..<scalars.count {
            let current = GraphemeBreak(scalars[index])
            if breaks(previous, current, regionalRun: regionalRun, emojiJoiner: emojiJoiner) {
                clusters.append(start..<index)
                start = index
            }
            regionalRun = current == .regionalIndicator ? regionalRun + 1 : 0
            emojiJoiner = current == .zwj && inEmoji
            inEmoji = current == .extendedPictographic || (inEmoji && current == .extend)
            previous = current
        }
        clusters.append(start..<scalars.count)
        return clusters
    }

    /// `check_pair` of unicode-segmentation, in its order (extended clusters: GB9a and GB9b hold).
    private static func breaks(_ before: GraphemeBreak, _ after: GraphemeBreak, regionalRun: Int, emojiJoiner: Bool) -> Bool {
        switch (before, after) {
        case (.cr, .lf): return false                                                   // GB3
        case (.control, _), (.cr, _), (.lf, _), (_, .control), (_, .cr), (_, .lf): return true  // GB4, GB5
        case (.l, .l), (.l, .v), (.l, .lv), (.l, .lvt), (.lv, .v), (.lv, .t), (.v, .v), (.v, .t),
             (.lvt, .t), (.t, .t): return false                                         // GB6–GB8
        case (_, .extend), (_, .zwj), (_, .spacingMark), (.prepend, _): return false    // GB9, GB9a, GB9b
        case (.zwj, .extendedPictographic): return !emojiJoiner                         // GB11
        case (.regionalIndicator, .regionalIndicator): return regionalRun % 2 == 0      // GB12, GB13
        default: return true                                                            // GB999
        }
    }
}
