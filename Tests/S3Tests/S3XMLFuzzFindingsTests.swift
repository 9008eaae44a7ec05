import Testing

@testable import S3

/// What `Scripts/fuzz.sh 600 xml` found in the S3 XML parser, kept as regressions: each of these
/// crashed the process before the fix (a crash fails the whole test run, loudly).
@Suite("S3 XML: fuzzer findings")
struct S3XMLFuzzFindingsTests {
    @Test(
        "a processing instruction without data is refused (it crashed FoundationXML: strlen of NULL)",
        arguments: [
            "<?xmllmbc?>\n<Error><Code>SignatureDoesNotMatch</Code></Error>", "<Error><?x?><Code>A</Code></Error>",
            "<?xml version=\"1.0\"?><?pi?><Error/>", "<?xml version=\"1.0\"", "<??>",
            "<?xml vers <?xe?>Bucket?><a/>",
        ])
    func processingInstruction(_ document: String) {
        #expect(XMLElementNode.parse(Array(document.utf8)) == nil)
        #expect(S3ErrorDocument(Array(document.utf8)) == nil)
    }

    @Test("the XML declaration itself still parses, with or without leading whitespace")
    func declaration() throws {
        for document in [
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchKey</Code></Error>",
            "   \n<?xml version=\"1.0\"?><Error><Code>NoSuchKey</Code></Error>",
            "<Error><Code>NoSuchKey</Code><Message>a &lt;? b</Message></Error>",
        ] {
            let error = try #require(S3ErrorDocument(Array(document.utf8)))
            #expect(error.code == "NoSuchKey")
        }
        #expect(XMLElementNode.parse(Array("<?xml version=\"1.0\"?><a>x</a>".utf8))?.text == "x")
        #expect(XMLElementNode.parse(Array("<a><?b?></a>".utf8)) == nil)
    }
}
