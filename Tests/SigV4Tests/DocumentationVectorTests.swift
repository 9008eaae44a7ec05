import Basics
import Foundation
import Testing

@testable import SigV4

/// The worked examples of the S3 SigV4 documentation, checked stage by stage: canonical request,
/// string to sign, signature, then the headers or URL the signer produces.
///
/// - https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
///   ("Examples: Signature Calculations")
/// - https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html
enum Docs {
    static let credentials = Credentials(
        accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    static let date = Timestamp(timeIntervalSince1970: 1_369_353_600)  // 2013-05-24T00:00:00Z
    static let empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    static let scope = "20130524/us-east-1/s3/aws4_request"
    static let signer = SigV4Signer(credentials: credentials, region: "us-east-1", service: "s3")
}

struct HeaderVector: Sendable, CustomTestStringConvertible {
    var name: String
    var method: String
    var url: String
    var headers: [(name: String, value: String)]
    var payloadHash: String
    var canonicalRequest: String
    var canonicalRequestHash: String
    var signedHeaders: String
    var signature: String

    var testDescription: String { name }
}

let headerVectors: [HeaderVector] = [
    HeaderVector(
        name: "GET Object with Range",
        method: "GET", url: "https://examplebucket.s3.amazonaws.com/test.txt",
        headers: [("Range", "bytes=0-9")], payloadHash: Docs.empty,
        canonicalRequest: """
            GET
            /test.txt

            host:examplebucket.s3.amazonaws.com
            range:bytes=0-9
            x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            x-amz-date:20130524T000000Z

            host;range;x-amz-content-sha256;x-amz-date
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            """,
        canonicalRequestHash: "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972",
        signedHeaders: "host;range;x-amz-content-sha256;x-amz-date",
        signature: "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"),
    HeaderVector(
        name: "PUT Object",
        method: "PUT", url: "https://examplebucket.s3.amazonaws.com/test%24file.text",
        headers: [("Date", "Fri, 24 May 2013 00:00:00 GMT"), ("x-amz-storage-class", "REDUCED_REDUNDANCY")],
        payloadHash: "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
        canonicalRequest: """
            PUT
            /test%24file.text

            date:Fri, 24 May 2013 00:00:00 GMT
            host:examplebucket.s3.amazonaws.com
            x-amz-content-sha256:44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072
            x-amz-date:20130524T000000Z
            x-amz-storage-class:REDUCED_REDUNDANCY

            date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class
            44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072
            """,
        canonicalRequestHash: "9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d",
        signedHeaders: "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
        signature: "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"),
    HeaderVector(
        name: "GET Bucket Lifecycle",
        method: "GET", url: "https://examplebucket.s3.amazonaws.com/?lifecycle",
        headers: [], payloadHash: Docs.empty,
        canonicalRequest: """
            GET
            /
            lifecycle=
            host:examplebucket.s3.amazonaws.com
            x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            x-amz-date:20130524T000000Z

            host;x-amz-content-sha256;x-amz-date
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            """,
        canonicalRequestHash: "9766c798316ff2757b517bc739a67f6213b4ab36dd5da2f94eaebf79c77395ca",
        signedHeaders: "host;x-amz-content-sha256;x-amz-date",
        signature: "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"),
    HeaderVector(
        name: "GET Bucket (List Objects), query out of order",
        method: "GET", url: "https://examplebucket.s3.amazonaws.com/?prefix=J&max-keys=2",
        headers: [], payloadHash: Docs.empty,
        canonicalRequest: """
            GET
            /
            max-keys=2&prefix=J
            host:examplebucket.s3.amazonaws.com
            x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            x-amz-date:20130524T000000Z

            host;x-amz-content-sha256;x-amz-date
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            """,
        canonicalRequestHash: "df57d21db20da04d7fa30298dd4488ba3a2b47ca3a489c74750e0f1e7df1b9b7",
        signedHeaders: "host;x-amz-content-sha256;x-amz-date",
        signature: "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"),
]

@Suite("S3 documentation examples, stage by stage")
struct DocumentationVectorTests {
    @Test("canonical request", arguments: headerVectors)
    func canonicalRequest(_ v: HeaderVector) {
        let headers =
            v.headers + [
                ("host", "examplebucket.s3.amazonaws.com"),
                ("x-amz-content-sha256", v.payloadHash),
                ("x-amz-date", "20130524T000000Z"),
            ]
        let request = SigV4Signer.canonicalRequest(
            method: v.method, url: v.url, headers: headers, payloadHash: v.payloadHash)
        #expect(request == v.canonicalRequest)
        #expect(PayloadHasher.hash(request) == v.canonicalRequestHash)
    }

    @Test("string to sign", arguments: headerVectors)
    func stringToSign(_ v: HeaderVector) {
        let text = SigV4Signer.stringToSign(
            canonicalRequest: v.canonicalRequest, amzDate: "20130524T000000Z", scope: Docs.scope)
        #expect(
            text == "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n\(v.canonicalRequestHash)")
    }

    @Test("signature", arguments: headerVectors)
    func signature(_ v: HeaderVector) {
        let key = SigV4Signer.signingKey(
            secretAccessKey: Docs.credentials.secretAccessKey, dateStamp: "20130524", region: "us-east-1", service: "s3"
        )
        let stringToSign = "AWS4-HMAC-SHA256\n20130524T000000Z\n\(Docs.scope)\n\(v.canonicalRequestHash)"
        #expect(SigV4Signer.signature(signingKey: key, stringToSign: stringToSign) == v.signature)
    }

    @Test("signed headers, end to end", arguments: headerVectors)
    func signedHeaders(_ v: HeaderVector) {
        let out = Docs.signer.signedHeaders(
            method: v.method, url: v.url, headers: v.headers, payloadHash: v.payloadHash, date: Docs.date)
        let byName = Dictionary(out.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
        #expect(byName["host"] == "examplebucket.s3.amazonaws.com")
        #expect(byName["x-amz-date"] == "20130524T000000Z")
        #expect(byName["x-amz-content-sha256"] == v.payloadHash)
        #expect(byName["x-amz-security-token"] == nil)
        #expect(
            byName["authorization"] == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/\(Docs.scope), "
                + "SignedHeaders=\(v.signedHeaders), Signature=\(v.signature)")
        // The caller's headers are all still there, in their order, before the added ones.
        #expect(out.prefix(v.headers.count).map(\.name) == v.headers.map(\.name))
    }

    @Test("signing key of the documentation's secret and date")
    func signingKey() {
        let key = SigV4Signer.signingKey(
            secretAccessKey: Docs.credentials.secretAccessKey, dateStamp: "20130524", region: "us-east-1", service: "s3"
        )
        // Independently: the HMAC chain written out by hand.
        func mac(_ key: [UInt8], _ text: String) -> [UInt8] {
            MessageDigest.hmac(.sha256, key: key, message: Array(text.utf8))
        }
        let expected = mac(
            mac(mac(mac(Array("AWS4wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".utf8), "20130524"), "us-east-1"), "s3"),
            "aws4_request")
        #expect(key.withUnsafeBytes { Array($0) } == expected)
    }

    @Test("presigned GET (query string authentication)")
    func presignedGet() {
        let query =
            "X-Amz-Algorithm=AWS4-HMAC-SHA256"
            + "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
            + "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
        let canonical = "GET\n/test.txt\n\(query)\nhost:examplebucket.s3.amazonaws.com\n\nhost\nUNSIGNED-PAYLOAD"
        #expect(
            SigV4Signer.canonicalRequest(
                method: "GET", url: "https://examplebucket.s3.amazonaws.com/test.txt?" + query,
                headers: [("Host", "examplebucket.s3.amazonaws.com")], payloadHash: "UNSIGNED-PAYLOAD") == canonical)
        #expect(PayloadHasher.hash(canonical) == "3bfa292879f6447bbcda7001decf97f4a54dc650c8942174ae0a9121cf58ad04")
        let stringToSign = SigV4Signer.stringToSign(
            canonicalRequest: canonical, amzDate: "20130524T000000Z", scope: Docs.scope)
        #expect(
            stringToSign
                == "AWS4-HMAC-SHA256\n20130524T000000Z\n\(Docs.scope)\n3bfa292879f6447bbcda7001decf97f4a54dc650c8942174ae0a9121cf58ad04"
        )
        let key = SigV4Signer.signingKey(
            secretAccessKey: Docs.credentials.secretAccessKey, dateStamp: "20130524", region: "us-east-1", service: "s3"
        )
        let signature = SigV4Signer.signature(signingKey: key, stringToSign: stringToSign)
        #expect(signature == "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404")

        let url = Docs.signer.presignedURL(
            method: "GET", url: "https://examplebucket.s3.amazonaws.com/test.txt", expires: 86400, date: Docs.date)
        #expect(url == "https://examplebucket.s3.amazonaws.com/test.txt?\(query)&X-Amz-Signature=\(signature)")
    }
}
