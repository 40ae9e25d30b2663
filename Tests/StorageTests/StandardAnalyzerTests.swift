import Storage
import Testing

/// Expected tokens are Lucene's: the standard tokenizer example of OpenSearch's documentation and
/// cases of Lucene's TestStandardAnalyzer (lower-cased, as the standard analyzer emits them).
@Suite struct StandardAnalyzerTests {
    static let cases: [(String, [String])] = [
        ("The 2 QUICK Brown-Foxes jumped over the lazy dog's bone.",
         ["the", "2", "quick", "brown", "foxes", "jumped", "over", "the", "lazy", "dog's", "bone"]),
        // `_` is ExtendNumLet: it joins; `-` and spaces split. This is what keeps `beta` from finding `alpha_beta`.
        ("alpha_beta", ["alpha_beta"]), ("alpha-beta", ["alpha", "beta"]), ("Beta", ["beta"]), ("_private_", ["_private_"]), ("___", []),
        ("", []), (".", []), (" ", []), ("\"QUOTED\" word", ["quoted", "word"]),
        ("O'Reilly you're she's Jim's don't", ["o'reilly", "you're", "she's", "jim's", "don't"]),
        ("B2B 2B R2D2 C3PO", ["b2b", "2b", "r2d2", "c3po"]),
        ("21.35 1,000 216.239.63.104 1-2-3", ["21.35", "1,000", "216.239.63.104", "1", "2", "3"]),
        ("some-dashed-phrase dogs,chase,cats ac/dc", ["some", "dashed", "phrase", "dogs", "chase", "cats", "ac", "dc"]),
        ("AT&T Excite@Home www.nutch.org U.S.A.", ["at", "t", "excite", "home", "www.nutch.org", "u.s.a"]),
        ("foo:bar 3.a", ["foo:bar", "3", "a"]),
        ("David has 5000 bones", ["david", "has", "5000", "bones"]),
        ("我是中国人。 １２３４ Ｔｅｓｔｓ", ["我", "是", "中", "国", "人", "１２３４", "ｔｅｓｔｓ"]),
        ("안녕하세요 한글입니다", ["안녕하세요", "한글입니다"]),
        ("ひらがな カタカナ", ["ひ", "ら", "が", "な", "カタカナ"]),
        ("การที่ได้ต้องแสดงว่างานดี แล้วเธอจะไปไหน? ๑๒๓๔", ["การที่ได้ต้องแสดงว่างานดี", "แล้วเธอจะไปไหน", "๑๒๓๔"]),
        ("mo\u{0364}chte", ["mo\u{0364}chte"]),  // a combining mark stays in its word (WB4)
        ("Γράφεται σε συνεργασία", ["γράφεται", "σε", "συνεργασία"]),
        ("İstanbul ΣΟΦΙΑ", ["istanbul", "σοφια"]),  // Java's simple lower-case mapping, per code point
        ("poo💩poo 💩💩", ["poo", "💩", "poo", "💩", "💩"]),
        ("👩‍❤️‍👩 👍🏽 🇺🇸🇺🇸 #⃣ 🏽 🇺", ["👩‍❤️‍👩", "👍🏽", "🇺🇸", "🇺🇸", "#⃣", "🏽"]),
        ("דנקנר תקף את הדו\"ח", ["דנקנר", "תקף", "את", "הדו\"ח"]),  // Hebrew `"` joins (WB7b/c)
    ]

    @Test(arguments: cases) func tokens(_ text: String, _ expected: [String]) {
        #expect(StandardAnalyzer.tokens(text) == expected)
    }

    @Test func longTokensAreSplitAtTheMaximumLength() {
        let long = String(repeating: "a", count: 600)
        #expect(StandardAnalyzer.tokens(long).map(\.count) == [255, 255, 90])
        // Counted in UTF-16 units, never inside a scalar: 200 two-unit scalars make pieces of 127 + 73.
        let wide = String(repeating: "𝒜", count: 200)
        #expect(StandardAnalyzer.tokens(wide).map(\.unicodeScalars.count) == [127, 73])
    }
}
