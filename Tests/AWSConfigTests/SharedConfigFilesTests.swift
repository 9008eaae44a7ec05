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
        try SharedConfigFiles(
            configPath: "/c", credentialsPath: "/k",
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
        #expect(work["region"] == "us-west-2")  // the bare [work] in config is ignored
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

    @Test(
        "missing files are empty; the later of [profile default] and [default] is the profile (botocore replaces); CRLF and continuation lines"
    )
    func edges() throws {
        let none = try SharedConfigFiles(configPath: "/c", credentialsPath: "/k", files: InMemoryFiles([:]))
        #expect(!none.configFound && !none.credentialsFound && none.profile("default") == nil)
        let files = try SharedConfigFiles(
            configPath: "/c", credentialsPath: "/k",
            files: InMemoryFiles([
                "/c":
                    "[profile default]\r\nregion = a\r\n[default]\r\nregion = b\r\noutput = text\r\nlong = first\r\n  second\r\n"
            ]))
        #expect(files.profile("default")?["region"] == "b")
        #expect(files.profile("default")?["output"] == "text")
        #expect(files.profile("default")?["long"] == "first\nsecond")
    }

    @Test(
        "a file botocore refuses is refused in one line naming the file, the line and the problem (exit 78)",
        arguments: [
            ("\u{FEFF}[default]\nregion = a\n", 1, "byte order mark"),
            ("# fine\nregion = a\n[default]\n", 2, "before the first [section]"),
            ("[default]\nregion = a\nnot a setting\n", 3, "not [section], key = value"),
            ("[default]\n= a\n", 2, "a value without a key"),
            ("[default]\nregion = a\n[profile p]\n[default]\n", 4, "[default] appears a second time"),
            ("[default]\nregion = a\nREGION: b\n", 3, "region appears a second time in [default]"),
            (
                "[default]\ns3 =\n  addressing_style = path\n  use_accelerate_endpoint\n", 4,
                "use_accelerate_endpoint\" of s3 has no ="
            ),
            ("[default]\nregion = \u{E9}\n", 2, "not UTF-8"),
        ] as [(String, Int, String)])
    func refused(_ text: String, _ line: Int, _ problem: String) throws {
        var bytes = Array(text.utf8)
        if problem == "not UTF-8" { bytes = Array("[default]\nregion = ".utf8) + [0xE9, 0x0A] }
        struct Bytes: FileReader {
            let bytes: [UInt8]
            func read(_ path: String) throws -> [UInt8]? { path == "/c" ? bytes : nil }
        }
        let error = try #require(throws: ConfigurationError.self) {
            try SharedConfigFiles(configPath: "/c", credentialsPath: "/k", files: Bytes(bytes: bytes))
        }
        #expect(error.description.hasPrefix("/c line \(line): "), "\(error)")
        #expect(error.description.contains(problem), "\(error)")
        #expect([.noCredentials, .invalidConfiguration].contains(error.kind))  // exit 78
        #expect(!error.description.contains("\n"))
    }

    @Test("the credentials file is read the same way and refused the same way")
    func credentialsFileRefused() throws {
        let error = try #require(throws: ConfigurationError.self) {
            try SharedConfigFiles(
                configPath: "/c", credentialsPath: "/k", files: InMemoryFiles(["/k": "aws_access_key_id = A\n"]))
        }
        #expect(error.description.hasPrefix("/k line 1: "))
    }

    @Test(
        "section names as botocore reads them: shell-style quotes, exactly two words, [DEFAULT] for all, any header in the credentials file"
    )
    func sectionNames() throws {
        let files = try SharedConfigFiles(
            configPath: "/c", credentialsPath: "/k",
            files: InMemoryFiles([
                "/c":
                    "[DEFAULT]\noutput = json\n[profile \"my profile\"]\nregion = a\n[profile 'q x']\n[profile a b]\nregion = b\n[profile \"open]\n",
                "/k": "[profile p]\naws_access_key_id = A\n",
            ]))
        #expect(files.profile("my profile")?["region"] == "a")
        #expect(files.profile("my profile")?["output"] == "json")
        #expect(files.hasProfile("q x"))
        #expect(!files.hasProfile("a b") && !files.hasProfile("a") && !files.hasProfile("b"))
        #expect(files.credentialsFileProfile("profile p")?["aws_access_key_id"] == "A")
        #expect(!files.hasProfile("p"))
    }
}
