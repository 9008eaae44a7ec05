import Basics
import Foundation
import Testing

/// The stand-ins for what Foundation gave the tool, checked against Foundation itself: the tests
/// may link Foundation; the tool no longer does.
@Suite("Basics: JSON, Base64, Timestamp, environment, checked against Foundation")
struct BasicsTests {
    struct Nested: Encodable {
        var name: String
        var values: [Int]
        var ratio: Double
        var flag: Bool
        var missing: String?
        var present: String?
    }

    struct Report: Encodable {
        var input: String
        var size: Int64
        var seconds: Double
        var tiny: Double
        var big: UInt64
        var negative: Int
        var items: [Nested]
        var map: [String: Int]
        var empty: [String]
        var optionalNumber: Double?
        enum CodingKeys: String, CodingKey {
            case input, size, seconds, tiny, big, negative, items, map, empty
            case optionalNumber = "optional_number"
        }
    }

    static let report = Report(
        input: "dir/a \"b\"\\c\n\t\u{01}é😀/x.wav", size: 1_234_567_890_123, seconds: 12.5, tiny: 0.000123,
        big: UInt64.max, negative: -42,
        items: [
            Nested(name: "one", values: [1, 2, 3], ratio: 1.0, flag: true, missing: nil, present: "p"),
            Nested(name: "", values: [], ratio: -0.1, flag: false, missing: nil, present: nil),
        ],
        map: ["b": 2, "a": 1, "B": 3, "a_b": 4, "aa": 5], empty: [], optionalNumber: nil)

    @Test("JSONEncoding writes what JSONEncoder writes with sortedKeys and withoutEscapingSlashes")
    func encodingMatchesFoundation() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let expected = String(decoding: try encoder.encode(Self.report), as: UTF8.self)
        #expect(try JSONEncoding.encode(Self.report) == expected)
    }

    @Test("whole doubles are written without a fraction; non-finite numbers throw")
    func numbers() throws {
        #expect(try JSONEncoding.encode([3.0, -2.0, 0.5, 1e20]) == "[3,-2,0.5,1e+20]")
        #expect(throws: EncodingError.self) { try JSONEncoding.encode([Double.nan]) }
        #expect(throws: EncodingError.self) { try JSONEncoding.encode(["x": Double.infinity]) }
    }

    @Test("what JSONEncoding writes, JSONValue reads back")
    func roundTrip() throws {
        let text = try JSONEncoding.encode(Self.report)
        let value = try JSONValue.parse(text)
        #expect(value["input"]?.string == Self.report.input)
        #expect(value["size"]?.number == 1_234_567_890_123)
        #expect(value["items"]?.objects?.first?["values"] == .array([.number(1), .number(2), .number(3)]))
        #expect(value["items"]?.objects?.first?["missing"] == nil)
        #expect(value["map"]?.object?["B"] == .number(3))
    }

    static let validDocuments = [
        "{}", "[]", "0", "-0", "1.5e3", "-12.25E-2", "true", "false", "null", "\"\"",
        " { \"a\" : [ 1 , { \"b\" : null } ] , \"c\" : \"\\u00e9\\ud83d\\ude00\\n\\/\" } ",
        "[\"\\\"\\\\\\b\\f\\n\\r\\t\"]", "{\"a\":1,\"a\":2}", "[1e308, 5e-324]",
    ]

    @Test("JSONValue parses what JSONSerialization parses, to the same values", arguments: validDocuments)
    func parsesLikeFoundation(_ text: String) throws {
        let ours = try JSONValue.parse(text)
        let theirs = try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
        #expect(Self.same(ours, theirs), "\(text): \(ours) vs \(theirs)")
    }

    static let invalidDocuments = [
        "", " ", "{", "{a:1}", "01", "1.", ".5", "1e", "-", "+1", "tru", "nul",
        "\"abc", "\"\\x\"", "\"\\ud83d\"", "\"\\ude00\"", "\"a\u{01}b\"", "[1] [2]", "{\"a\" 1}", "'a'",
        "NaN", "Infinity", "1e400",
    ]

    @Test("JSONValue refuses what is not JSON, as JSONSerialization does", arguments: invalidDocuments)
    func refusesLikeFoundation(_ text: String) {
        #expect(throws: JSONValue.ParseError.self) { try JSONValue.parse(text) }
        #expect((try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])) == nil)
    }

    @Test("JSONValue refuses trailing commas (RFC 8259 has none; Foundation's parser lets them through)")
    func refusesTrailingCommas() {
        for text in ["[1,]", "{\"a\":1,}", "[,]"] {
            #expect(throws: JSONValue.ParseError.self, "\(text)") { try JSONValue.parse(text) }
        }
    }

    @Test("JSONValue refuses invalid UTF-8 in a string and nesting deeper than 256")
    func refusesHostileInput() {
        #expect(throws: JSONValue.ParseError.self) { try JSONValue.parse([0x22, 0xFF, 0xFE, 0x22]) }
        #expect(throws: JSONValue.ParseError.self) {
            try JSONValue.parse(String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000))
        }
        #expect((try? JSONValue.parse(String(repeating: "[", count: 200) + String(repeating: "]", count: 200))) != nil)
    }

    /// Whether a `JSONValue` and a `JSONSerialization` result hold the same document.
    static func same(_ ours: JSONValue, _ theirs: Any) -> Bool {
        switch ours {
        case .null: return theirs is NSNull
        case .bool(let value): return (theirs as? Bool) == value
        case .number(let value): return (theirs as? NSNumber)?.doubleValue == value
        case .string(let value): return (theirs as? String) == value
        case .array(let values):
            guard let array = theirs as? [Any], array.count == values.count else { return false }
            return zip(values, array).allSatisfy { same($0, $1) }
        case .object(let members):
            guard let object = theirs as? [String: Any], object.count == members.count else { return false }
            return members.allSatisfy { key, value in object[key].map { same(value, $0) } ?? false }
        }
    }

    @Test("Base64 encodes as Data.base64EncodedString, every length 0 to 64")
    func base64() {
        var generator = SystemRandomNumberGenerator()
        for length in 0...64 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            #expect(Base64.encode(bytes) == Data(bytes).base64EncodedString(), "\(bytes)")
        }
        #expect(Base64.encode(Array("foobar".utf8)) == "Zm9vYmFy")
        #expect(Base64.encode(Array("fooba".utf8)) == "Zm9vYmE=")
        #expect(Base64.encode(Array("foob".utf8)) == "Zm9vYg==")
    }

    @Test("Timestamp() is the same clock as Date(), and its arithmetic is Date's")
    func timestamp() {
        let ours = Timestamp().timeIntervalSince1970
        let theirs = Date().timeIntervalSince1970
        #expect(abs(ours - theirs) < 1)
        let t = Timestamp(timeIntervalSince1970: 1000)
        #expect(t.addingTimeInterval(5).timeIntervalSince(t) == 5)
        #expect(t + 5 > t && t < t + 0.001)
        var u = t
        u += 2.5
        #expect(u.timeIntervalSince1970 == 1002.5)
    }

    @Test("trimming(while:) drops what the predicate picks at both ends, nothing inside")
    func trimming() {
        let isBlank: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        #expect(" \t a b \t".trimming(while: isBlank) == "a b")
        #expect("a b".trimming(while: isBlank) == "a b")
        #expect(" \t ".trimming(while: isBlank) == "")
        #expect("".trimming(while: isBlank) == "")
        #expect(" x\r\n".trimming(while: \.isWhitespace) == "x")
        #expect(" x\n".trimming(while: isBlank) == "x\n")
        #expect("--a-b--"[...].trimming { $0 == "-" } == "a-b")
    }

    @Test("ProcessEnvironment.current is ProcessInfo's environment")
    func environment() {
        setenv("S3T_BASICS_TEST", "a=b c", 1)
        defer { unsetenv("S3T_BASICS_TEST") }
        let ours = ProcessEnvironment.current
        #expect(ours["S3T_BASICS_TEST"] == "a=b c")
        #expect(ours == ProcessInfo.processInfo.environment)
    }
}
