import AWSConfig
import S3
import Testing

@Suite("Region, endpoint, addressing and retry settings")
struct ResolutionTests {
    static let files = [
        "/home/u/.aws/config": """
        [default]
        region = eu-central-1
        [profile custom]
        region = ap-northeast-1
        endpoint_url = https://minio.example:9000/
        ca_bundle = ~/ca.pem
        max_attempts = 7
        retry_mode = adaptive
        s3 =
          addressing_style = virtual
        [profile svc]
        services = local
        endpoint_url = http://global.example
        [services local]
        s3 =
          endpoint_url = http://127.0.0.1:9000
        [profile ignoring]
        ignore_configured_endpoint_urls = true
        endpoint_url = http://ignored.example
        """
    ]

    @Test(
        "region: flag, AWS_REGION, AWS_DEFAULT_REGION, profile, us-east-1",
        arguments: [
            (
                ["AWS_REGION": "us-west-1", "AWS_DEFAULT_REGION": "us-west-2"], "ca-central-1", "ca-central-1",
                "--region"
            ),
            (["AWS_REGION": "us-west-1", "AWS_DEFAULT_REGION": "us-west-2"], nil, "us-west-1", "AWS_REGION"),
            (["AWS_REGION": "", "AWS_DEFAULT_REGION": "us-west-2"], nil, "us-west-2", "AWS_DEFAULT_REGION"),
            ([:], nil, "eu-central-1", "profile default"),
            (["AWS_PROFILE": "custom"], nil, "ap-northeast-1", "profile custom"),
            (["AWS_CONFIG_FILE": "/elsewhere"], nil, "us-east-1", "default"),
        ] as [([String: String], String?, String, String)])
    func region(_ env: [String: String], _ flag: String?, _ expected: String, _ source: String) throws {
        let config = try resolve(env, flags: ConfigurationFlags(region: flag), files: Self.files)
        #expect(config.region == expected)
        #expect(config.regionSource == source)
    }

    @Test(
        "endpoint: flag, AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, services section, profile, AWS",
        arguments: [
            ([:], "http://flag:1/", "http://flag:1", "--endpoint-url"),
            (
                ["AWS_ENDPOINT_URL_S3": "http://s3env", "AWS_ENDPOINT_URL": "http://globalenv"], nil, "http://s3env",
                "AWS_ENDPOINT_URL_S3"
            ),
            (["AWS_ENDPOINT_URL": "http://globalenv"], nil, "http://globalenv", "AWS_ENDPOINT_URL"),
            (["AWS_PROFILE": "svc"], nil, "http://127.0.0.1:9000", "services local in /home/u/.aws/config"),
            (["AWS_PROFILE": "custom"], nil, "https://minio.example:9000", "profile custom"),
            (
                [
                    "AWS_ENDPOINT_URL_S3": "http://s3env", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true",
                    "AWS_PROFILE": "custom",
                ], nil, nil, nil
            ),
            (
                ["AWS_ENDPOINT_URL_S3": "http://s3env", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "TRUE"], "http://flag",
                "http://flag", "--endpoint-url"
            ),
            (["AWS_PROFILE": "ignoring"], nil, nil, nil),
            ([:], nil, nil, nil),
        ] as [([String: String], String?, String?, String?)])
    func endpoint(_ env: [String: String], _ flag: String?, _ expected: String?, _ source: String?) throws {
        let config = try resolve(env, flags: ConfigurationFlags(endpointURL: flag), files: Self.files)
        #expect(config.endpointURL == expected)
        #expect(config.endpointSource == source)
    }

    @Test("addressing: --path-style forces path; the profile's s3 addressing_style; else auto")
    func addressing() throws {
        #expect(try resolve([:], files: Self.files).addressing == .auto)
        #expect(try resolve(["AWS_PROFILE": "custom"], files: Self.files).addressing == .virtual)
        #expect(
            try resolve(["AWS_PROFILE": "custom"], flags: ConfigurationFlags(pathStyle: true), files: Self.files)
                .addressing == .path)
    }

    @Test("CA bundle, max attempts and retry mode from the environment, else the profile")
    func transportSettings() throws {
        let plain = try resolve([:], files: Self.files)
        #expect(plain.caBundle == nil && plain.maxAttempts == nil && plain.retryMode == .standard)
        let profile = try resolve(["AWS_PROFILE": "custom"], files: Self.files)
        #expect(profile.caBundle == "/home/u/ca.pem")
        #expect(profile.maxAttempts == 7)
        #expect(profile.retryMode == .adaptive)
        let env = try resolve(
            [
                "AWS_PROFILE": "custom", "AWS_CA_BUNDLE": "/etc/ca.pem", "AWS_MAX_ATTEMPTS": "2",
                "AWS_RETRY_MODE": "legacy",
            ], files: Self.files)
        #expect(env.caBundle == "/etc/ca.pem")
        #expect(env.maxAttempts == 2)
        #expect(env.retryMode == .legacy)
        #expect(env.summary.contains("region ap-northeast-1 (from profile custom)"))
        // Known before the transport exists, from the same sources.
        #expect(
            try ResolvedConfiguration.caBundle(
                flags: ConfigurationFlags(profile: "custom"), environment: ["HOME": "/home/u"],
                files: InMemoryFiles(Self.files)) == "/home/u/ca.pem")
        #expect(
            try ResolvedConfiguration.caBundle(
                flags: ConfigurationFlags(), environment: ["HOME": "/home/u", "AWS_CA_BUNDLE": "/x.pem"],
                files: InMemoryFiles(Self.files)) == "/x.pem")
    }

    @Test(
        "bad settings are configuration errors (exit 78) naming the setting",
        arguments: [
            (["AWS_MAX_ATTEMPTS": "0"], "AWS_MAX_ATTEMPTS"),
            (["AWS_MAX_ATTEMPTS": "many"], "AWS_MAX_ATTEMPTS"),
            (["AWS_RETRY_MODE": "aggressive"], "AWS_RETRY_MODE"),
            (["AWS_REGION": "US East"], "region"),
            (["AWS_ENDPOINT_URL": "minio:9000"], "AWS_ENDPOINT_URL"),
            (["AWS_PROFILE": "missing"], "missing"),
        ] as [([String: String], String)])
    func badSettings(_ env: [String: String], _ mentioned: String) throws {
        let error = try #require(throws: ConfigurationError.self) { try resolve(env, files: Self.files) }
        #expect(error.kind == .invalidConfiguration)
        #expect(error.description.contains(mentioned))
        #expect(!error.description.contains("\n"))
    }

    @Test(
        "a profile named by --profile, AWS_DEFAULT_PROFILE or AWS_PROFILE must exist (botocore's ProfileNotFound): exit 78 naming it and where it came from",
        arguments: [
            ([:], "nope", "--profile"),
            (["AWS_DEFAULT_PROFILE": "nope"], nil, "AWS_DEFAULT_PROFILE"),
            (["AWS_PROFILE": "nope"], nil, "AWS_PROFILE"),
            (["AWS_PROFILE": "custom", "AWS_DEFAULT_PROFILE": "nope"], nil, "AWS_DEFAULT_PROFILE"),
        ] as [([String: String], String?, String)])
    func missingProfiles(_ env: [String: String], _ flag: String?, _ source: String) throws {
        let error = try #require(throws: ConfigurationError.self) {
            try resolve(env, flags: ConfigurationFlags(profile: flag), files: Self.files)
        }
        #expect([.noCredentials, .invalidConfiguration].contains(error.kind))  // exit 78
        #expect(error.description.contains("nope") && error.description.contains(source))
    }

    @Test("file locations: AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE, ~ expanded from HOME")
    func filePaths() throws {
        let config = try resolve(
            ["AWS_CONFIG_FILE": "~/cfg", "AWS_SHARED_CREDENTIALS_FILE": "/etc/creds"],
            files: ["/home/u/cfg": "[default]\nregion = sa-east-1\n"])
        #expect(config.files.configPath == "/home/u/cfg")
        #expect(config.files.credentialsPath == "/etc/creds")
        #expect(config.region == "sa-east-1")
    }

    @Test(
        "file variables are expanded as Python's expandvars and expanduser: set variables only, ~ from HOME",
        arguments: [
            ("$HOME/a", "/home/u/a"), ("${HOME}/a", "/home/u/a"), ("$NOPE/a", "$NOPE/a"), ("${NOPE", "${NOPE"),
            ("~", "/home/u"), ("~/x/", "/home/u/x/"), ("a/~/b", "a/~/b"), ("$EMPTY/x", "/x"),
            ("~nosuchuser-zz/x", "~nosuchuser-zz/x"),
        ] as [(String, String)])
    func pathExpansion(_ written: String, _ expected: String) throws {
        let config = try resolve(["AWS_CONFIG_FILE": written, "EMPTY": ""])
        #expect(config.files.configPath == expected)
    }

    @Test(
        "AWS_MAX_ATTEMPTS / max_attempts reaches the S3 client: single calls, and parts when higher than their default 5",
        arguments: [
            ([:], 3, 5), (["AWS_MAX_ATTEMPTS": "2"], 2, 5), (["AWS_MAX_ATTEMPTS": "9"], 9, 9),
            (["AWS_PROFILE": "custom"], 7, 7),
        ] as [([String: String], Int, Int)])
    func maxAttemptsReachTheClient(_ env: [String: String], _ calls: Int, _ parts: Int) throws {
        let retry = S3Client.Configuration(try resolve(env, files: Self.files)).retry
        #expect(retry.maxAttempts == calls)
        #expect(retry.partMaxAttempts == parts)
    }
}
