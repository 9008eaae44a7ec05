import AWSConfig
import Testing

@Suite("Shared config and credentials files")
struct SharedConfigFilesTests {
    static let config = """
        # a comment
        [default]
        region = eu-west-1
        output=json

        [profile work]
        region = us-west-2
        role_arn = arn:aws:iam::123456789012:role/Work
        source_profile = default
        s3 =
          addressing_style = path
          max_concurrent_requests = 4
        services = local

        [work]
        region = ignored-no-profile-prefix

        [services local]
        s3 =
          endpoint_url = http://127.0.0.1:9000
        sts =
          endpoint_url = http://127.0.0.1:9001

        [profile  spaced  ]  ; comment after the header
        Region = ap-south-1
        ; another comment
        credential_process = /bin/echo "a # not a comment"
        [sso-session corp]
        sso_region = us-east-1
        """
    static let credentials = """
        [default]
        aws_access_key_id = AKIDDEFAULT
        aws_secret_access_key = secretdefault
        region = us-east-2

        [work]
        aws_access_key_id = AKIDWORK
        aws_secret_access_key = secretwork
        """

    func load() throws -> SharedConfigFiles {
        try SharedConfigFiles(configPath: "/c", credentialsPath: "/k",
                              files: InMemoryFiles(["/c": Self.config, "/k": Self.credentials]))
    }

    @Test("profiles: [profile NAME] in config, [NAME] in credentials; credentials file wins per key")
    func profiles() throws {
        let files = try load()
        #expect(files.configFound && files.credentialsFound)
        let defaults = try #require(files.profile("default"))
        #expect(defaults["region"] == "us-east-2")
        #expect(defaults["output"] == "json")
        #expect(defaults["aws_access_key_id"] == "AKIDDEFAULT")
        let work = try #require(files.profile("work"))
        #expect(work["region"] == "us-west-2") // the bare [work] in config is ignored
        #expect(work["aws_access_key_id"] == "AKIDWORK")
        #expect(work["source_profile"] == "default")
        #expect(work.subProperties["s3"]?["addressing_style"] == "path")
        #expect(work.subProperties["s3"]?["max_concurrent_requests"] == "4")
        #expect(files.profile("nope") == nil)
        #expect(files.profile("corp") == nil)
    }

    @Test("header and key spacing and case, comments, values with # kept")
    func syntax() throws {
        let files = try load()
        let spaced = try #require(files.profile("spaced"))
        #expect(spaced["region"] == "ap-south-1")
        #expect(spaced["credential_process"] == "/bin/echo \"a # not a comment\"")
    }

    @Test("services sections")
    func services() throws {
        let files = try load()
        #expect(files.services("local")?.subProperties["s3"]?["endpoint_url"] == "http://127.0.0.1:9000")
        #expect(files.services("local")?.subProperties["sts"]?["endpoint_url"] == "http://127.0.0.1:9001")
    }

    @Test("missing files are empty; [profile default] wins over [default]; CRLF and continuation lines")
    func edges() throws {
        let none = try SharedConfigFiles(configPath: "/c", credentialsPath: "/k", files: InMemoryFiles([:]))
        #expect(!none.configFound && !none.credentialsFound && none.profile("default") == nil)
        let files = try SharedConfigFiles(configPath: "/c", credentialsPath: "/k", files: InMemoryFiles([
            "/c": "[profile default]\r\nregion = a\r\n[default]\r\nregion = b\r\noutput = text\r\nlong = first\r\n  second\r\n",
        ]))
        #expect(files.profile("default")?["region"] == "a")
        #expect(files.profile("default")?["output"] == "text")
        #expect(files.profile("default")?["long"] == "first\nsecond")
    }
}
