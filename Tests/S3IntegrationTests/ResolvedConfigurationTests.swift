import AWSConfig
import HTTPClient
import S3
import S3TranscodeCommands
import SigV4
import TestSupport
import Testing

@Suite("S3 client built from a resolved AWS configuration, against moto")
struct ResolvedConfigurationTests {
    /// The environment a user would set for a local S3, with no config files.
    static func environment(_ server: S3TestServer, secret: String? = nil) -> [String: String] {
        [
            "AWS_ACCESS_KEY_ID": server.accessKeyId,
            "AWS_SECRET_ACCESS_KEY": secret ?? server.secretAccessKey,
            "AWS_ENDPOINT_URL_S3": server.endpoint,
            "AWS_REGION": server.region,
            "AWS_MAX_ATTEMPTS": "4",
            "AWS_EC2_METADATA_DISABLED": "true",
            "HOME": "/nonexistent",
        ]
    }

    @Test("environment → resolved configuration → client: put and get succeed, signed with the env keys")
    func endToEnd() throws {
        let server = try S3TestServer.shared()
        let resolved = try ResolvedConfiguration.resolve(
            flags: ConfigurationFlags(), environment: Self.environment(server), files: InMemoryFiles([:]),
            transport: sharedTransport)
        let client = S3Client(resolved: resolved, transport: sharedTransport)
        #expect(client.configuration.endpoint == S3Endpoint(custom: server.endpoint))
        #expect(client.configuration.retry.maxAttempts == 4)
        #expect(client.configuration.retry.partMaxAttempts == RetryPolicy.defaultPartMaxAttempts)
        #expect(!client.configuration.endpoint.usesVirtualHost(bucket: "plain-bucket"))

        let bucket = S3TestServer.uniqueBucketName("resolved")
        try client.createBucket(bucket)
        _ = try client.putObject(bucket: bucket, key: "from env.mp3", body: Array("configured".utf8))
        #expect(try client.getObject(bucket: bucket, key: "from env.mp3").body == Array("configured".utf8))
    }

    @Test("a wrong AWS_SECRET_ACCESS_KEY in the environment ends in exit 77")
    func wrongSecretFromEnvironment() throws {
        let server = try S3TestServer.shared()
        let resolved = try ResolvedConfiguration.resolve(
            flags: ConfigurationFlags(), environment: Self.environment(server, secret: "wrong"),
            files: InMemoryFiles([:]),
            transport: sharedTransport)
        let client = S3Client(resolved: resolved, transport: sharedTransport)
        let error = try #require(throws: S3Error.self) { _ = try client.listObjectsV2(bucket: "whatever-bucket") }
        #expect(error.kind == .credentialsRejected)
    }

    @Test(
        "no endpoint: Amazon S3 in the resolved region, virtual-hosted unless --path-style", arguments: [false, true])
    func amazonS3(pathStyle: Bool) throws {
        let environment = [
            "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_REGION": "eu-west-1",
            "AWS_EC2_METADATA_DISABLED": "true", "HOME": "/nonexistent",
        ]
        let resolved = try ResolvedConfiguration.resolve(
            flags: ConfigurationFlags(pathStyle: pathStyle), environment: environment, files: InMemoryFiles([:]),
            transport: sharedTransport)
        let client = S3Client(resolved: resolved, transport: sharedTransport)
        #expect(client.configuration.region == "eu-west-1")
        #expect(client.configuration.endpoint.custom == nil)
        #expect(
            client.objectURL(bucket: "my-bucket", key: "a b.mp3")
                == (pathStyle
                    ? "https://s3.eu-west-1.amazonaws.com/my-bucket/a%20b.mp3"
                    : "https://my-bucket.s3.eu-west-1.amazonaws.com/a%20b.mp3"))
        #expect(
            client.objectURL(bucket: "dotted.bucket", key: "k") == "https://s3.eu-west-1.amazonaws.com/dotted.bucket/k")
    }
}
