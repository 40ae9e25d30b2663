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

    @Test func numbersPastDoubleAreRefused() throws {
        for text in ["1e999", "-1e999", "[1e400]", #"{"a": 123456789e999999}"#] {
            #expect(throws: JSONParseError.self, "\(text)") { try JSON.parse(text) }
        }
        #expect(try JSON.parse("1e308") == .double(1e308))
        #expect(try JSON.parse("9223372036854775808").intValue == nil)  // past Int64: a double, no integer view
    }

    @Test func largeObjectsKeepOrderAndLookUpByKey() throws {
        // Built key by key (as services build documents from a client's input): linear, not quadratic.
        var object = JSONObject()
        for i in 0..<200_000 { object["k\(i)"] = .int(Int64(i)) }
        object["k5"] = .int(-5)
        #expect(object.count == 200_000)
        #expect(object["k5"] == .int(-5))
        #expect(object["k199999"] == .int(199_999))
        #expect(object.keys.prefix(3) == ["k0", "k1", "k2"])
        object.removeValue(forKey: "k0")
        #expect(object["k0"] == nil && object["k1"] == .int(1) && object["k199999"] == .int(199_999))
        object["k0"] = .int(0)
        #expect(object.keys.last == "k0")
        // Shrinking back below the indexed size keeps lookups right.
        var small = JSONObject((0..<20).map { (key: "s\($0)", value: JSON.int(Int64($0))) })
        for i in 0..<10 { small.removeValue(forKey: "s\(i)") }
        #expect(small.count == 10 && small["s15"] == .int(15) && small["s3"] == nil)
        small["s3"] = .int(3)
        #expect(small.keys.last == "s3" && small["s3"] == .int(3))
        let parsed = try JSON.parse(JSON.object(object).serialized)
        #expect(parsed.objectValue?["k100000"] == .int(100_000))
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
