import OrderedJSON
import Testing

@Suite struct JSONTests {
    @Test func roundTripKeepsKeyOrderAndNumberKinds() throws {
        let text = #"{"z":1,"a":[true,false,null],"m":{"x":-2.5,"y":"é\n\"q\"\u0001"},"big":9007199254740993,"e":1e-5}"#
        let value = try JSON.parse(text)
        #expect(value.objectValue?.keys == ["z", "a", "m", "big", "e"])
        #expect(value["big"] == .int(9_007_199_254_740_993))
        #expect(value["e"] == .double(1e-5))
        #expect(value["m"]?["y"] == .string("é\n\"q\"\u{01}"))
        #expect(try JSON.parse(value.serialized) == value)
        #expect(value.serialized.hasPrefix(#"{"z":1,"a":[true,false,null],"#))
    }

    @Test func surrogatePairsAndEscapes() throws {
        #expect(try JSON.parse(#""\ud83d\ude00 \/""#) == .string("😀 /"))
        #expect(JSON.string("\u{1F600}\t").serialized == "\"😀\\t\"")
    }

    @Test(arguments: [
        ("{\"a\": }", 1, 7),
        ("{\n  \"a\": 1,\n  b\n}", 3, 3),
        ("[1, 2", 1, 6),
        ("{\"a\": 01}", 1, 7),
        ("\"unterminated", 1, 14),
        ("{\"a\":1} x", 1, 9),
        ("{\"a\":1,\"a\":2}", 1, 8),
        ("", 1, 1),
    ])
    func errorsCarryTheirPosition(text: String, line: Int, column: Int) {
        #expect(throws: JSONParseError.self) { try JSON.parse(text) }
        do {
            _ = try JSON.parse(text)
        } catch {
            #expect(error.line == line, "\(error)")
            #expect(error.column == column, "\(error)")
        }
    }

    @Test func deepNestingIsRefusedNotACrash() {
        let text = String(repeating: "[", count: 100_000)
        #expect(throws: JSONParseError.self) { try JSON.parse(text) }
    }

    @Test func prettyOutputMatchesOpenSearchStyle() {
        let value: JSON = ["a": 1, "b": [true], "c": [:]]
        #expect(value.prettySerialized == "{\n  \"a\" : 1,\n  \"b\" : [\n    true\n  ],\n  \"c\" : { }\n}".replacingOccurrences(of: "{ }", with: "{}"))
    }
}
