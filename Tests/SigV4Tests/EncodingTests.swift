import Foundation
import Testing

@testable import SigV4

@Suite("S3 key and query encoding")
struct EncodingTests {
    @Test(
        "object keys are encoded once, slash kept, unreserved left alone",
        arguments: [
            ("test.txt", "test.txt"),
            ("test$file.text", "test%24file.text"),
            ("a b", "a%20b"),
            ("a+b", "a%2Bb"),
            ("a=b", "a%3Db"),
            ("a~b-c_d.e", "a~b-c_d.e"),
            ("100%", "100%25"),
            ("already%20encoded", "already%2520encoded"),
            ("dir/sub dir/file.mp3", "dir/sub%20dir/file.mp3"),
            ("é", "%C3%A9"),
            ("日本/音楽.mp3", "%E6%97%A5%E6%9C%AC/%E9%9F%B3%E6%A5%BD.mp3"),
            ("🎵", "%F0%9F%8E%B5"),
            ("a//b/", "a//b/"),
            ("../x", "../x"),
            ("!*'();:@&=+$,?#[]", "%21%2A%27%28%29%3B%3A%40%26%3D%2B%24%2C%3F%23%5B%5D"),
        ])
    func keyEncoding(_ key: String, _ encoded: String) {
        #expect(S3Path.encode(key) == encoded)
        // The URL built from the key signs with exactly the path that is sent.
        #expect(SigV4Signer.canonicalURI("/" + encoded) == "/" + encoded)
    }

    @Test(
        "form decoding: + is a space, then %XX escapes; malformed escapes and non-UTF-8 bytes give the text as written",
        arguments: [
            ("a+b.wav", "a b.wav"), ("a%2Bb.wav", "a+b.wav"), ("a%2bb", "a+b"), ("100%25.wav", "100%.wav"),
            ("%C3%BCn%C3%AF+c%C3%B6d%C3%A9.wav", "ünï cödé.wav"), ("%c3%a9", "é"), ("dir%2Fx", "dir/x"),
            ("日本+音楽", "日本 音楽"), ("", ""), ("+++", "   "), ("%20%2B+", " + "),
            ("bad%zz+x.wav", "bad%zz x.wav"), ("end%", "end%"), ("end%4", "end%4"), ("%%41", "%%41"),
            ("a%4+b", "a%4 b"), ("%FF+x", "%FF x"), ("%C3+x", "%C3 x"), ("%C3%28", "%C3%28"),
        ])
    func formDecoding(_ text: String, _ decoded: String) {
        #expect(S3Path.formDecode(text) == decoded)
        #expect(S3Path.formDecode(text[...]) == decoded)
        // What it replaces: Foundation's decoding, with its fallback to the text as written.
        let spaced = text.replacingOccurrences(of: "+", with: " ")
        #expect(S3Path.formDecode(text) == spaced.removingPercentEncoding ?? spaced)
    }

    @Test("path-style and virtual-hosted paths")
    func paths() {
        #expect(S3Path.path(key: "a b") == "/a%20b")
        #expect(S3Path.path(bucket: "my.bucket", key: "a b") == "/my.bucket/a%20b")
        #expect(S3Path.path(bucket: "b") == "/b/")
        #expect(S3Path.path() == "/")
    }

    @Test("canonical URI re-encodes raw characters and normalises escapes, never double-encodes")
    func canonicalURI() {
        #expect(SigV4Signer.canonicalURI("/test$file.text") == "/test%24file.text")
        #expect(SigV4Signer.canonicalURI("/test%24file.text") == "/test%24file.text")
        #expect(SigV4Signer.canonicalURI("/a%2fb") == "/a%2Fb")
        #expect(SigV4Signer.canonicalURI("/a b") == "/a%20b")
        #expect(SigV4Signer.canonicalURI("/a+b") == "/a%2Bb")
        #expect(SigV4Signer.canonicalURI("") == "/")
        #expect(SigV4Signer.canonicalURI("/") == "/")
        #expect(SigV4Signer.canonicalURI("/a//./../b") == "/a//./../b")
        #expect(SigV4Signer.canonicalURI("/100%") == "/100%25")
    }

    @Test("query components encode slash; values are = joined; sorted by name then value")
    func canonicalQuery() {
        #expect(S3Path.encodeQueryComponent("a/b c") == "a%2Fb%20c")
        #expect(S3Path.query([("uploads", nil)]) == "uploads=")
        #expect(S3Path.query([("prefix", "dir/sub"), ("delimiter", "/")]) == "prefix=dir%2Fsub&delimiter=%2F")
        #expect(SigV4Signer.canonicalQuery("uploads") == "uploads=")
        #expect(SigV4Signer.canonicalQuery("uploads=") == "uploads=")
        #expect(SigV4Signer.canonicalQuery("delimiter=/&prefix=a b") == "delimiter=%2F&prefix=a%20b")
        #expect(SigV4Signer.canonicalQuery("delimiter=%2F&prefix=a%20b") == "delimiter=%2F&prefix=a%20b")
        #expect(SigV4Signer.canonicalQuery("partNumber=2&uploadId=a~b") == "partNumber=2&uploadId=a~b")
        #expect(SigV4Signer.canonicalQuery("b=2&a=2&a=1&A=0") == "A=0&a=1&a=2&b=2")
        #expect(
            SigV4Signer.canonicalQuery("list-type=2&continuation-token=1%2Bx%3D")
                == "continuation-token=1%2Bx%3D&list-type=2")
        #expect(SigV4Signer.canonicalQuery("") == "")
        #expect(SigV4Signer.canonicalQuery(nil) == "")
        #expect(SigV4Signer.canonicalQuery("a=1&&b=2") == "a=1&b=2")
    }

    @Test("headers: lowercased, sorted, trimmed, inner spaces folded, repeats joined")
    func canonicalHeaders() {
        let (canonical, signed) = SigV4Signer.canonicalHeaders([
            ("X-Amz-Meta-Title", "  a   b \t c  "),
            ("Host", "h"),
            ("x-amz-meta-title", "second"),
            ("Content-Type", "audio/mpeg"),
        ])
        #expect(canonical == "content-type:audio/mpeg\nhost:h\nx-amz-meta-title:a b c,second\n")
        #expect(signed == "content-type;host;x-amz-meta-title")
    }

    @Test("host header from the URL: lowercased, default port dropped, other ports kept")
    func hostFromURL() {
        #expect(RequestURL("https://Bucket.S3.amazonaws.com/k")?.host == "bucket.s3.amazonaws.com")
        #expect(RequestURL("https://h:443/k")?.host == "h")
        #expect(RequestURL("http://h:80/k")?.host == "h")
        #expect(RequestURL("http://127.0.0.1:5000/b/k?x=1")?.host == "127.0.0.1:5000")
        #expect(RequestURL("http://[::1]:9000/b")?.host == "[::1]:9000")
        #expect(RequestURL("http://user:pw@h:9000")?.host == "h:9000")
        #expect(RequestURL("http://h:9000")?.path == "/")
        #expect(RequestURL("http://h:9000?uploads")?.query == "uploads")
        #expect(RequestURL("http://h/a%20b?x=1#frag")?.path == "/a%20b")
        #expect(RequestURL("not a url") == nil)
    }

    @Test("a key with every awkward character signs the path that is sent")
    func awkwardKeySigns() {
        let key = "dir/a b+c=d~e%f/é😀.mp3"
        let url = "http://127.0.0.1:9000/bucket" + S3Path.path(key: key) + "?partNumber=1&uploadId=x%2By"
        let headers = Docs.signer.signedHeaders(method: "PUT", url: url, payloadHash: Docs.empty, date: Docs.date)
        let canonical = SigV4Signer.canonicalRequest(
            method: "PUT", url: url,
            headers: headers.filter { $0.name != "authorization" }, payloadHash: Docs.empty)
        #expect(
            canonical.hasPrefix(
                "PUT\n/bucket/dir/a%20b%2Bc%3Dd~e%25f/%C3%A9%F0%9F%98%80.mp3\npartNumber=1&uploadId=x%2By\nhost:127.0.0.1:9000\n"
            ))
    }
}
