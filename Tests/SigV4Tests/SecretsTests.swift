import Basics
import Foundation
import Testing

@testable import SigV4

@Suite("Secrets never printed")
struct SecretsTests {
    static let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    static let token = "FQoGZXIvYXdzEXAMPLETOKEN"
    static let credentials = Credentials(
        accessKeyId: "ASIAEXAMPLE", secretAccessKey: secret, sessionToken: token,
        expiration: Timestamp(timeIntervalSince1970: 1_369_353_600))

    @Test("description, debugDescription, dump and interpolation redact the secret and token")
    func credentialsRedacted() {
        var dumped = ""
        dump(Self.credentials, to: &dumped)
        for text in [
            Self.credentials.description, Self.credentials.debugDescription, "\(Self.credentials)",
            String(reflecting: Self.credentials), dumped, "\([Self.credentials])",
        ] {
            #expect(!text.contains(Self.secret), "\(text)")
            #expect(!text.contains(Self.token), "\(text)")
            #expect(text.contains("ASIAEXAMPLE"))
        }
        #expect(
            Self.credentials.description
                == "Credentials(accessKeyId: ASIAEXAMPLE, secretAccessKey: <redacted>, sessionToken: <redacted>, expiration: 2013-05-24T00:00:00Z)"
        )
    }

    @Test(
        "URLs lose their query string and user info",
        arguments: [
            (
                "https://b.s3.amazonaws.com/k?X-Amz-Signature=abc&X-Amz-Credential=AK",
                "https://b.s3.amazonaws.com/k?<redacted>"
            ),
            ("http://127.0.0.1:9000/b/k?uploads=", "http://127.0.0.1:9000/b/k?<redacted>"),
            ("https://b.s3.amazonaws.com/k", "https://b.s3.amazonaws.com/k"),
            ("https://user:pass@h/k?x=1#f", "https://h/k?<redacted>"),
            ("https://h/k#frag?x", "https://h/k"),
        ])
    func urls(_ url: String, _ redacted: String) {
        #expect(Redact.url(url) == redacted)
    }

    @Test("secret headers are redacted, the rest kept in order")
    func headers() {
        let signer = SigV4Signer(credentials: Self.credentials, region: "us-east-1")
        let signed = signer.signedHeaders(
            method: "GET", url: "https://b.s3.amazonaws.com/k", headers: [("Range", "bytes=0-1")],
            payloadHash: PayloadHasher.emptyPayloadHash, date: Timestamp(timeIntervalSince1970: 0))
        #expect(signed.contains { $0.name == "x-amz-security-token" && $0.value == Self.token })
        let redacted = Redact.headers(signed)
        #expect(redacted.map(\.name) == signed.map(\.name))
        let text = redacted.map { "\($0.name): \($0.value)" }.joined(separator: "\n")
        #expect(!text.contains(Self.token))
        #expect(!text.contains("Signature="))
        #expect(text.contains("range: bytes=0-1") || text.contains("Range: bytes=0-1"))
        #expect(redacted.first { $0.name == "authorization" }?.value == "<redacted>")
    }

    @Test("a presigned URL carries the session token, and redaction hides it")
    func presignedWithToken() {
        let signer = SigV4Signer(credentials: Self.credentials, region: "eu-west-1")
        let url = signer.presignedURL(
            method: "PUT", url: "https://b.s3.eu-west-1.amazonaws.com/a%20b.mp3", expires: 900,
            date: Timestamp(timeIntervalSince1970: 1_369_353_600))
        #expect(url.hasPrefix("https://b.s3.eu-west-1.amazonaws.com/a%20b.mp3?X-Amz-Algorithm=AWS4-HMAC-SHA256&"))
        #expect(url.contains("&X-Amz-Security-Token=FQoGZXIvYXdzEXAMPLETOKEN&"))
        #expect(url.contains("X-Amz-Expires=900&"))
        #expect(Redact.url(url) == "https://b.s3.eu-west-1.amazonaws.com/a%20b.mp3?<redacted>")
    }
}

@Suite("Payload hashing and timestamps")
struct HashingAndDateTests {
    @Test("streaming hash equals the one-shot hash, whatever the chunking")
    func streaming() {
        let body = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let oneShot = PayloadHasher.hash(body)
        for chunk in [1, 7, 4096, 65_536, 100_000] {
            var hasher = PayloadHasher()
            var start = 0
            while start < body.count {
                let end = min(start + chunk, body.count)
                body[start..<end].withUnsafeBytes { hasher.update($0) }
                start = end
            }
            #expect(hasher.finalize() == oneShot)
        }
        #expect(
            PayloadHasher.hash("Welcome to Amazon S3.")
                == "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072")
        #expect(PayloadHasher().finalize() == PayloadHasher.emptyPayloadHash)
        #expect(PayloadHasher.hash([UInt8]()) == PayloadHasher.emptyPayloadHash)
    }

    @Test("x-amz-date and date stamp")
    func formatting() {
        let d = AmzDate(Timestamp(timeIntervalSince1970: 1_369_353_600 + 3723.9))
        #expect(d.amzDate == "20130524T010203Z")
        #expect(d.dateStamp == "20130524")
        #expect(d.iso8601 == "2013-05-24T01:02:03Z")
        #expect(AmzDate(Timestamp(timeIntervalSince1970: 951_782_400)).dateStamp == "20000229")
        #expect(AmzDate(Timestamp(timeIntervalSince1970: 0)).amzDate == "19700101T000000Z")
        #expect(AmzDate(Timestamp(timeIntervalSince1970: 4_102_444_799)).amzDate == "20991231T235959Z")
    }

    @Test(
        "ISO 8601 as AWS services write it",
        arguments: [
            ("2013-05-24T00:00:00Z", 1_369_353_600.0),
            ("2013-05-24T00:00:00.250Z", 1_369_353_600.25),
            ("2013-05-24T02:00:00+02:00", 1_369_353_600.0),
            ("2013-05-23T22:30:00-01:30", 1_369_353_600.0),
            ("2000-02-29T12:00:00Z", 951_825_600.0),
        ])
    func parsing(_ text: String, _ seconds: Double) {
        #expect(AmzDate.parseISO8601(text)?.timeIntervalSince1970 == seconds)
    }

    @Test(
        "malformed timestamps are rejected",
        arguments: [
            "", "2013-05-24", "2013-05-24T00:00:00", "2013-13-01T00:00:00Z",
            "2013-05-24T00:00:00Zjunk", "2013-05-24T00:00:00.Z", "1369353600",
        ])
    func rejects(_ text: String) {
        #expect(AmzDate.parseISO8601(text) == nil)
    }
}
