import Foundation
import Testing

@testable import S3

@Suite("S3's XML, parsed with expat")
struct S3XMLTests {
    static let signatureError = """
        <?xml version="1.0" encoding="UTF-8"?>
        <Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match.</Message>\
        <AWSAccessKeyId>AKIDEXAMPLE</AWSAccessKeyId><StringToSign>AWS4-HMAC-SHA256\n20130524T000000Z</StringToSign>\
        <SignatureProvided>f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41</SignatureProvided>\
        <CanonicalRequest>GET\n/test.txt</CanonicalRequest><RequestId>4442587FB7D0A2F9</RequestId></Error>
        """

    @Test("an <Error> document keeps its code, message, request id and region, nothing else")
    func errorDocument() throws {
        let document = try #require(S3ErrorDocument(Array(Self.signatureError.utf8)))
        #expect(document.code == "SignatureDoesNotMatch")
        #expect(document.message == "The request signature we calculated does not match.")
        #expect(document.requestId == "4442587FB7D0A2F9")
        #expect(document.region == nil)
        #expect(!String(describing: document).contains("f0e8bdb87c96"))
        #expect(!String(describing: document).contains("AWS4-HMAC-SHA256"))
    }

    @Test("entities, CDATA, namespaces and prefixes")
    func textForms() throws {
        let xml = """
            <?xml version="1.0"?><s3:ListBucketResult xmlns:s3="http://s3.amazonaws.com/doc/2006-03-01/">\
            <s3:Contents><s3:Key>a &amp; b &lt;c&gt; &#233;</s3:Key></s3:Contents>\
            <s3:Contents><s3:Key><![CDATA[x<y]]></s3:Key></s3:Contents></s3:ListBucketResult>
            """
        let root = try #require(XMLElementNode.parse(Array(xml.utf8)))
        #expect(root.name == "ListBucketResult")
        #expect(root.children("Contents").compactMap { $0.text("Key") } == ["a & b <c> é", "x<y"])
    }

    @Test("a DTD (entity expansion), a processing instruction or nesting deeper than S3's is refused")
    func refusedForms() {
        let laughs = """
            <?xml version="1.0"?><!DOCTYPE Error [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">\
            <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><Error><Code>&c;</Code></Error>
            """
        #expect(XMLElementNode.parse(Array(laughs.utf8)) == nil)
        #expect(XMLElementNode.parse(Array("<!DOCTYPE a SYSTEM \"file:///etc/passwd\"><a/>".utf8)) == nil)
        #expect(XMLElementNode.parse(Array("<a><?pi data?></a>".utf8)) == nil)
        let deep = { (n: Int) in String(repeating: "<a>", count: n) + String(repeating: "</a>", count: n) }
        #expect(XMLElementNode.parse(Array(deep(XMLElementNode.maximumDepth).utf8)) != nil)
        #expect(XMLElementNode.parse(Array(deep(XMLElementNode.maximumDepth + 1).utf8)) == nil)
        #expect(XMLElementNode.parse(Array(deep(100_000).utf8)) == nil)
        #expect(XMLElementNode.parse([0x3C, 0x61, 0x3E, 0xFF, 0x3C, 0x2F, 0x61, 0x3E]) == nil, "not UTF-8")
    }

    @Test("not XML, HTML, or an <Error> inside something else: no error document")
    func notErrors() {
        for text in [
            "", "   ", "not xml", "<html><body>502 Bad Gateway</body></html>",
            "<Result><Error><Code>X</Code></Error></Result>",
        ] {
            #expect(S3ErrorDocument(Array(text.utf8)) == nil, "\(text)")
        }
    }

    @Test("escaping for the CompleteMultipartUpload body")
    func escaping() {
        #expect(xmlEscape("\"etag\" <&> 'x'") == "&quot;etag&quot; &lt;&amp;&gt; &apos;x&apos;")
        let body = S3Client.completeMultipartUploadBody([
            CompletedPart(partNumber: 1, etag: "\"a\"", checksum: ChecksumValue(.crc32, base64: "AAAA"))
        ])
        let root = XMLElementNode.parse(Array(body.utf8))
        #expect(root?.child("Part")?.text("ETag") == "\"a\"")
        #expect(root?.child("Part")?.text("ChecksumCRC32") == "AAAA")
        #expect(root?.child("Part")?.text("PartNumber") == "1")
    }

    @Test("mutated and truncated S3 documents never crash the parser")
    func mutations() {
        let seeds = [
            Self.signatureError,
            "<ListBucketResult><IsTruncated>true</IsTruncated><NextContinuationToken>t</NextContinuationToken><Contents><Key>k</Key><Size>1</Size></Contents></ListBucketResult>",
            "<CompleteMultipartUploadResult><Location>l</Location><ETag>\"e-2\"</ETag></CompleteMultipartUploadResult>",
        ].map { Array($0.utf8) }
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> Int {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return Int(state % 1_000_000)
        }
        var parsed = 0
        for round in 0..<600 {
            var bytes = seeds[round % seeds.count]
            switch round % 3 {
            case 0: bytes = Array(bytes.prefix(next() % (bytes.count + 1)))
            case 1: for _ in 0..<4 { bytes[next() % bytes.count] = UInt8(next() % 256) }
            default: bytes.insert(contentsOf: bytes[0..<(next() % bytes.count)], at: next() % bytes.count)
            }
            if XMLElementNode.parse(bytes) != nil { parsed += 1 }
            _ = S3ErrorDocument(bytes)
        }
        #expect(parsed < 600)  // most mutations break the document, and none crashed
    }
}
