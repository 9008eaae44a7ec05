import AWSConfig
import Foundation
import HTTPClient
import SigV4
import Testing

@Suite("Credentials chain")
struct CredentialChainTests {
    static let credentialsFile = """
        [default]
        aws_access_key_id = AKIDPROFILE
        aws_secret_access_key = profilesecret
        [other]
        aws_access_key_id = AKIDOTHER
        aws_secret_access_key = othersecret
        aws_session_token = othertoken
        [half]
        aws_access_key_id = AKIDHALF
        """
    static let files = ["/home/u/.aws/credentials": credentialsFile]

    @Test("environment first, with session token and expiry")
    func environment() throws {
        let config = try resolve(
            [
                "AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "envsecret",
                "AWS_SESSION_TOKEN": "envtoken", "AWS_CREDENTIAL_EXPIRATION": "2030-01-01T00:00:00Z",
            ],
            files: Self.files)
        let credentials = try config.credentials.credentials(forceRefresh: false)
        #expect(credentials.accessKeyId == "AKIDENV")
        #expect(credentials.sessionToken == "envtoken")
        #expect(credentials.expiration == AmzDate.parseISO8601("2030-01-01T00:00:00Z"))
    }

    @Test("AWS_PROFILE does not beat environment keys; --profile skips them (as the AWS CLI)")
    func profileSelection() throws {
        let env = ["AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "envsecret", "AWS_PROFILE": "other"]
        #expect(
            try resolve(env, files: Self.files).credentials.credentials(forceRefresh: false).accessKeyId == "AKIDENV")
        let flagged = try resolve(env, flags: ConfigurationFlags(profile: "other"), files: Self.files)
        let credentials = try flagged.credentials.credentials(forceRefresh: false)
        #expect(credentials.accessKeyId == "AKIDOTHER")
        #expect(credentials.sessionToken == "othertoken")
        #expect(
            try resolve([:], files: Self.files).credentials.credentials(forceRefresh: false).accessKeyId
                == "AKIDPROFILE")
    }

    @Test(
        "half-set keys are errors that name the missing setting",
        arguments: [
            (["AWS_ACCESS_KEY_ID": "AKID"], "AWS_SECRET_ACCESS_KEY"),
            (["AWS_PROFILE": "half"], "aws_secret_access_key"),
        ] as [([String: String], String)])
    func partial(_ env: [String: String], _ mentioned: String) throws {
        let config = try resolve(env, files: Self.files)
        let error = try #require(throws: ConfigurationError.self) {
            try config.credentials.credentials(forceRefresh: false)
        }
        #expect(error.kind == .invalidConfiguration)
        #expect(error.description.contains(mentioned))
        #expect(!error.description.contains("s3cr3t-value"))
    }

    @Test(
        "a secret without a key id is not credentials: the chain goes on (as botocore), in the environment and in a file"
    )
    func straySecret() throws {
        let env = ["AWS_SECRET_ACCESS_KEY": "s3cr3t-value"]
        #expect(
            try resolve(env, files: Self.files).credentials.credentials(forceRefresh: false).accessKeyId
                == "AKIDPROFILE")
        let files = [
            "/home/u/.aws/credentials": "[default]\naws_secret_access_key = s3cr3t-value\n",
            "/home/u/.aws/config": "[default]\naws_access_key_id = AKIDCONFIG\naws_secret_access_key = c\n",
        ]
        #expect(try resolve(env, files: files).credentials.credentials(forceRefresh: false).accessKeyId == "AKIDCONFIG")
    }

    @Test("no credentials anywhere: exit 78, one line saying where it looked, IMDS asked and unreachable")
    func none() throws {
        let transport = FakeTransport.unreachable
        let config = try resolve(["AWS_SHARED_CREDENTIALS_FILE": "/none"], transport: transport)
        let error = try #require(throws: ConfigurationError.self) {
            try config.credentials.credentials(forceRefresh: false)
        }
        #expect(error.kind == .noCredentials)
        #expect(!error.description.contains("\n"))
        for place in [
            "environment (AWS_ACCESS_KEY_ID)", "web identity", "profile default in /none and /home/u/.aws/config",
            "container credentials", "EC2 instance metadata (http://169.254.169.254)",
        ] {
            #expect(error.description.contains(place), "\(place)")
        }
        #expect(transport.sent.map(\.request.url) == ["http://169.254.169.254/latest/api/token"])
    }

    @Test("AWS_EC2_METADATA_DISABLED=true: IMDS is not asked")
    func imdsDisabled() throws {
        let transport = FakeTransport.unreachable
        let config = try resolve(["AWS_EC2_METADATA_DISABLED": "true"], transport: transport)
        let error = try #require(throws: ConfigurationError.self) {
            try config.credentials.credentials(forceRefresh: false)
        }
        #expect(error.description.contains("disabled by AWS_EC2_METADATA_DISABLED"))
        #expect(transport.sent.isEmpty)
    }

    @Test("credential_process: Version 1 JSON, run through the shell")
    func credentialProcess() throws {
        let dir = try TempDirectory()
        let script = try dir.write(
            "creds.sh",
            """
            #!/bin/sh
            echo '{"Version": 1, "AccessKeyId": "AKIDPROC", "SecretAccessKey": "procsecret",'
            echo ' "SessionToken": "proctoken", "Expiration": "2030-05-01T10:00:00Z"}'
            """, executable: true)
        let config = try dir.write("config", "[profile proc]\ncredential_process = \(script) --flag \"quoted arg\"\n")
        let resolved = try ResolvedConfiguration.resolve(
            flags: ConfigurationFlags(profile: "proc"),
            environment: ["HOME": dir.path, "AWS_CONFIG_FILE": config, "PATH": "/usr/bin:/bin"],
            files: LocalFiles(), transport: FakeTransport.unreachable, clock: FakeClock(t0),
            runner: ShellCommandRunner())
        let credentials = try resolved.credentials.credentials(forceRefresh: false)
        #expect(credentials.accessKeyId == "AKIDPROC")
        #expect(credentials.secretAccessKey == "procsecret")
        #expect(credentials.sessionToken == "proctoken")
        #expect(credentials.expiration == AmzDate.parseISO8601("2030-05-01T10:00:00Z"))
    }

    @Test(
        "credential_process failures never print the process's output",
        arguments: [
            (1, #"{"Version": 1, "AccessKeyId": "A", "SecretAccessKey": "leakme"}"#, "exited with status 1"),
            (0, #"{"Version": 2, "AccessKeyId": "A", "SecretAccessKey": "leakme"}"#, "Version 2"),
            (0, "leakme not json", "JSON"),
            (0, #"{"Version": 1, "AccessKeyId": "A"}"#, "SecretAccessKey"),
            (
                0, #"{"Version": 1, "AccessKeyId": "A", "SecretAccessKey": "leakme", "Expiration": "soon"}"#,
                "Expiration"
            ),
        ] as [(Int32, String, String)])
    func credentialProcessErrors(_ status: Int32, _ output: String, _ mentioned: String) throws {
        let config = try resolve(
            ["AWS_PROFILE": "p"], files: ["/home/u/.aws/config": "[profile p]\ncredential_process = x\n"],
            runner: FakeRunner { _ in (status, output) })
        let error = try #require(throws: ConfigurationError.self) {
            try config.credentials.credentials(forceRefresh: false)
        }
        #expect(error.description.contains(mentioned))
        #expect(error.description.contains("profile p"))
        #expect(!error.description.contains("leakme"))
    }

    @Test("the real shell runner reports exit status and captures stdout only")
    func shellRunner() throws {
        let (status, output) = try ShellCommandRunner().run(
            "echo out; echo err >&2; exit 3", environment: ["PATH": "/usr/bin:/bin"])
        #expect(status == 3)
        #expect(String(decoding: output, as: UTF8.self) == "out\n")
    }

    @Test("role_arn + source_profile: STS AssumeRole signed with the source profile's keys")
    func assumeRole() throws {
        let transport = FakeTransport { request, body in
            response(
                200,
                stsAnswer(
                    action: "AssumeRole", id: "ASIAROLE", secret: "rolesecret", token: "roletoken",
                    expiration: t0.addingTimeInterval(3600)))
        }
        let files = [
            "/home/u/.aws/credentials": "[base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = basesecret\n",
            "/home/u/.aws/config": """
            [profile role]
            role_arn = arn:aws:iam::123456789012:role/Deploy
            source_profile = base
            role_session_name = my-session
            external_id = ext-1
            duration_seconds = 1800
            region = eu-west-3
            """,
        ]
        let config = try resolve(["AWS_PROFILE": "role"], files: files, transport: transport)
        let credentials = try config.credentials.credentials(forceRefresh: false)
        #expect(credentials.accessKeyId == "ASIAROLE")
        #expect(credentials.sessionToken == "roletoken")
        #expect(credentials.expiration == t0.addingTimeInterval(3600))
        let sent = try #require(transport.sent.first)
        #expect(transport.sent.count == 1)
        #expect(sent.request.method == "POST")
        #expect(sent.request.url == "https://sts.eu-west-3.amazonaws.com/")
        #expect(
            sent.bodyText
                == "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2FDeploy"
                + "&RoleSessionName=my-session&ExternalId=ext-1&DurationSeconds=1800")
        let authorization = try #require(sent.header("authorization"))
        #expect(authorization.hasPrefix("AWS4-HMAC-SHA256 Credential=AKIDBASE/20231114/eu-west-3/sts/aws4_request, "))
        #expect(sent.header("x-amz-content-sha256") == PayloadHasher.hash(sent.body))
        // The signature is the one our signer makes for this request with the source keys.
        let resigned = SigV4Signer(
            credentials: Credentials(accessKeyId: "AKIDBASE", secretAccessKey: "basesecret"),
            region: "eu-west-3", service: "sts"
        )
        .signedHeaders(
            method: "POST", url: sent.request.url,
            headers: [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")],
            payloadHash: PayloadHasher.hash(sent.body), date: t0)
        #expect(resigned.first { $0.name == "authorization" }?.value == authorization)
    }

    @Test("chained source profiles, and loops refused")
    func chainedRoles() throws {
        let transport = FakeTransport { request, body in
            let text = String(decoding: body, as: UTF8.self)
            let which = text.contains("role%2FA") ? "A" : "B"
            return response(
                200,
                stsAnswer(
                    action: "AssumeRole", id: "ASIA\(which)", secret: "s\(which)", token: "t\(which)",
                    expiration: t0.addingTimeInterval(3600)))
        }
        let config = """
            [profile a]
            role_arn = arn:aws:iam::1:role/A
            source_profile = b
            [profile b]
            role_arn = arn:aws:iam::1:role/B
            source_profile = base
            [profile base]
            aws_access_key_id = AKIDBASE
            aws_secret_access_key = basesecret
            [profile loop1]
            role_arn = arn:aws:iam::1:role/L1
            source_profile = loop2
            [profile loop2]
            role_arn = arn:aws:iam::1:role/L2
            source_profile = loop1
            [profile nosource]
            role_arn = arn:aws:iam::1:role/N
            """
        let resolved = try resolve(["AWS_PROFILE": "a"], files: ["/home/u/.aws/config": config], transport: transport)
        #expect(try resolved.credentials.credentials(forceRefresh: false).accessKeyId == "ASIAA")
        #expect(transport.sent.count == 2)
        #expect(transport.sent[0].header("authorization")?.contains("Credential=AKIDBASE/") == true)
        #expect(transport.sent[1].header("authorization")?.contains("Credential=ASIAB/") == true)
        #expect(transport.sent[1].header("x-amz-security-token") == "tB")

        let loop = try resolve(["AWS_PROFILE": "loop1"], files: ["/home/u/.aws/config": config], transport: transport)
        let loopError = try #require(throws: ConfigurationError.self) {
            try loop.credentials.credentials(forceRefresh: false)
        }
        #expect(loopError.description.contains("loop1 -> loop2 -> loop1"))
        let nosource = try resolve(
            ["AWS_PROFILE": "nosource"], files: ["/home/u/.aws/config": config], transport: transport)
        let nosourceError = try #require(throws: ConfigurationError.self) {
            try nosource.credentials.credentials(forceRefresh: false)
        }
        #expect(nosourceError.description.contains("no source_profile"))
    }

    @Test("STS refusals are exit 77 and carry STS's code; 5xx is retried then exit 69")
    func stsErrors() throws {
        let denied = FakeTransport { _, _ in
            response(
                403,
                "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>not authorized to assume</Message></Error></ErrorResponse>"
            )
        }
        let env = ["AWS_WEB_IDENTITY_TOKEN_FILE": "/token", "AWS_ROLE_ARN": "arn:aws:iam::1:role/W"]
        let files = ["/token": "eyJhbGciOi.jwt.secretpart\n"]
        let config = try resolve(env, files: files, transport: denied)
        let error = try #require(throws: ConfigurationError.self) {
            try config.credentials.credentials(forceRefresh: false)
        }
        #expect(error.kind == .credentialsRejected)
        #expect(error.description.contains("AccessDenied: not authorized to assume"))
        #expect(!error.description.contains("secretpart"))
        #expect(denied.sent.count == 1)

        let down = FakeTransport { _, _ in
            response(503, "<ErrorResponse><Error><Code>ServiceUnavailable</Code></Error></ErrorResponse>")
        }
        let downConfig = try resolve(env, files: files, transport: down)
        let downError = try #require(throws: ConfigurationError.self) {
            try downConfig.credentials.credentials(forceRefresh: false)
        }
        #expect(downError.kind == .unavailable)
        #expect(down.sent.count == 3)
    }

    @Test("web identity: token file read, unsigned AssumeRoleWithWebIdentity, AWS_ENDPOINT_URL_STS honoured")
    func webIdentity() throws {
        let transport = FakeTransport { _, _ in
            response(
                200,
                stsAnswer(
                    action: "AssumeRoleWithWebIdentity", id: "ASIAWEB", secret: "websecret", token: "a&amp;b",
                    expiration: t0.addingTimeInterval(900)))
        }
        let env = [
            "AWS_WEB_IDENTITY_TOKEN_FILE": "/var/run/token", "AWS_ROLE_ARN": "arn:aws:iam::1:role/Web",
            "AWS_ROLE_SESSION_NAME": "pod-1", "AWS_ENDPOINT_URL_STS": "http://127.0.0.1:4566/",
            "AWS_REGION": "eu-north-1",
        ]
        let config = try resolve(env, files: ["/var/run/token": "jwt-token-value\n"], transport: transport)
        let credentials = try config.credentials.credentials(forceRefresh: false)
        #expect(credentials.accessKeyId == "ASIAWEB")
        #expect(credentials.sessionToken == "a&b")
        let sent = try #require(transport.sent.first)
        #expect(sent.request.url == "http://127.0.0.1:4566/")
        #expect(sent.header("authorization") == nil)
        #expect(
            sent.bodyText
                == "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2FWeb"
                + "&RoleSessionName=pod-1&WebIdentityToken=jwt-token-value")
        // Web identity comes before the profile.
        let both = try resolve(
            env, files: ["/var/run/token": "jwt", "/home/u/.aws/credentials": Self.credentialsFile],
            transport: transport)
        #expect(try both.credentials.credentials(forceRefresh: false).accessKeyId == "ASIAWEB")
        // A token file without a role is an error.
        let norole = try resolve(
            ["AWS_WEB_IDENTITY_TOKEN_FILE": "/var/run/token"], files: ["/var/run/token": "jwt"], transport: transport)
        let error = try #require(throws: ConfigurationError.self) {
            try norole.credentials.credentials(forceRefresh: false)
        }
        #expect(error.description.contains("AWS_ROLE_ARN"))
    }

    @Test("container credentials: relative URI against 169.254.170.2, full URI with a token file")
    func container() throws {
        let document =
            #"{"AccessKeyId": "ASIACONT", "SecretAccessKey": "contsecret", "Token": "conttoken", "Expiration": "2030-01-01T00:00:00Z"}"#
        let transport = FakeTransport { _, _ in response(200, document) }
        let relative = try resolve(
            ["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/abc"], transport: transport)
        let credentials = try relative.credentials.credentials(forceRefresh: false)
        #expect(credentials.accessKeyId == "ASIACONT")
        #expect(credentials.sessionToken == "conttoken")
        #expect(transport.sent.last?.request.url == "http://169.254.170.2/v2/credentials/abc")
        #expect(transport.sent.last?.header("authorization") == nil)

        let full = try resolve(
            [
                "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:8080/creds",
                "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": "/run/token",
                "AWS_CONTAINER_AUTHORIZATION_TOKEN": "ignored",
            ],
            files: ["/run/token": "Bearer file-token\n"], transport: transport)
        _ = try full.credentials.credentials(forceRefresh: false)
        #expect(transport.sent.last?.request.url == "http://127.0.0.1:8080/creds")
        #expect(transport.sent.last?.header("authorization") == "Bearer file-token")

        let envToken = try resolve(
            [
                "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://169.254.170.23/v1/credentials",
                "AWS_CONTAINER_AUTHORIZATION_TOKEN": "env-token",
            ], transport: transport)
        _ = try envToken.credentials.credentials(forceRefresh: false)
        #expect(transport.sent.last?.header("authorization") == "env-token")

        let remote = try resolve(
            ["AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://evil.example/creds"], transport: transport)
        let error = try #require(throws: ConfigurationError.self) {
            try remote.credentials.credentials(forceRefresh: false)
        }
        #expect(error.description.contains("not loopback"))
    }

    @Test("IMDSv2: token, role, credentials; endpoint override; v1 fallback on 405")
    func imds() throws {
        let document =
            #"{"Code": "Success", "LastUpdated": "2023-11-14T22:00:00Z", "Type": "AWS-HMAC", "AccessKeyId": "ASIAIMDS", "SecretAccessKey": "imdssecret", "Token": "imdstoken", "Expiration": "2023-11-15T04:00:00Z"}"#
        let transport = FakeTransport { request, _ in
            switch (request.method, request.url) {
            case ("PUT", "http://127.0.0.1:1338/latest/api/token"): response(200, "imds-session-token")
            case ("GET", "http://127.0.0.1:1338/latest/meta-data/iam/security-credentials/"): response(200, "my-role\n")
            case ("GET", "http://127.0.0.1:1338/latest/meta-data/iam/security-credentials/my-role"):
                response(200, document)
            default: response(404)
            }
        }
        let config = try resolve(["AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://127.0.0.1:1338/"], transport: transport)
        let credentials = try config.credentials.credentials(forceRefresh: false)
        #expect(credentials.accessKeyId == "ASIAIMDS")
        #expect(credentials.expiration == AmzDate.parseISO8601("2023-11-15T04:00:00Z"))
        #expect(transport.sent.count == 3)
        #expect(transport.sent[0].header("x-aws-ec2-metadata-token-ttl-seconds") == "21600")
        #expect(transport.sent[1].header("x-aws-ec2-metadata-token") == "imds-session-token")
        #expect(transport.sent[2].header("x-aws-ec2-metadata-token") == "imds-session-token")

        let v1 = FakeTransport { request, _ in
            if request.method == "PUT" { return response(405) }
            return request.url.hasSuffix("/") ? response(200, "r") : response(200, document)
        }
        let v1Config = try resolve([:], transport: v1)
        #expect(try v1Config.credentials.credentials(forceRefresh: false).accessKeyId == "ASIAIMDS")
        #expect(v1.sent.last?.header("x-aws-ec2-metadata-token") == nil)
        let v1Off = try resolve(["AWS_EC2_METADATA_V1_DISABLED": "true"], transport: v1)
        #expect(throws: ConfigurationError.self) { try v1Off.credentials.credentials(forceRefresh: false) }

        let noRole = FakeTransport { request, _ in request.method == "PUT" ? response(200, "t") : response(404) }
        let noRoleError = try #require(throws: ConfigurationError.self) {
            try resolve([:], transport: noRole).credentials.credentials(forceRefresh: false)
        }
        #expect(noRoleError.kind == .noCredentials)
    }

    @Test(
        "IMDS refusing (403) or failing after the token is 'no credentials' (exit 78, naming where it looked), as botocore",
        arguments: [
            (403, 200), (401, 200), (500, 200), (200, 403), (200, 500),
        ] as [(Int, Int)])
    func imdsRefusal(_ roleStatus: Int, _ credentialsStatus: Int) throws {
        let transport = FakeTransport { request, _ in
            if request.method == "PUT" { return response(200, "token") }
            return request.url.hasSuffix("/") ? response(roleStatus, "role") : response(credentialsStatus, "{}")
        }
        let error = try #require(throws: ConfigurationError.self) {
            try resolve(["AWS_SHARED_CREDENTIALS_FILE": "/none"], transport: transport).credentials.credentials(
                forceRefresh: false)
        }
        #expect(error.kind == .noCredentials)
        #expect(error.description.contains("EC2 instance metadata (http://169.254.169.254), which "))
        if roleStatus != 200 { #expect(error.description.contains("answered HTTP \(roleStatus)")) }
    }

    @Test("credential_source = Environment assumes the role with the environment's keys")
    func credentialSource() throws {
        let transport = FakeTransport { _, _ in
            response(
                200,
                stsAnswer(
                    action: "AssumeRole", id: "ASIACS", secret: "s", token: "t", expiration: t0.addingTimeInterval(3600)
                ))
        }
        let config = try resolve(
            ["AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "envsecret"],
            flags: ConfigurationFlags(profile: "cs"),
            files: [
                "/home/u/.aws/config":
                    "[profile cs]\nrole_arn = arn:aws:iam::1:role/CS\ncredential_source = Environment\n"
            ],
            transport: transport)
        #expect(try config.credentials.credentials(forceRefresh: false).accessKeyId == "ASIACS")
        #expect(transport.sent.first?.header("authorization")?.contains("Credential=AKIDENV/") == true)
    }

    @Test(
        "chain order: environment, web identity, profile, container, IMDS; each asked only when those before have nothing"
    )
    func order() throws {
        let container =
            #"{"AccessKeyId": "ASIACONT", "SecretAccessKey": "s", "Token": "t", "Expiration": "2030-01-01T00:00:00Z"}"#
        let imds =
            #"{"Code": "Success", "AccessKeyId": "ASIAIMDS", "SecretAccessKey": "s", "Token": "t", "Expiration": "2030-01-01T00:00:00Z"}"#
        let transport = FakeTransport { request, _ in
            if request.url.hasPrefix("http://169.254.170.2/") { return response(200, container) }
            if request.url.hasPrefix("https://sts.") {
                return response(
                    200,
                    stsAnswer(
                        action: "AssumeRoleWithWebIdentity", id: "ASIAWEB", secret: "s", token: "t",
                        expiration: t0.addingTimeInterval(3600)))
            }
            if request.method == "PUT" { return response(200, "token") }
            return request.url.hasSuffix("/") ? response(200, "role") : response(200, imds)
        }
        let everything: [String: String] = [
            "AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "s",
            "AWS_WEB_IDENTITY_TOKEN_FILE": "/t", "AWS_ROLE_ARN": "arn:aws:iam::1:role/W",
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/x",
        ]
        let files = ["/t": "jwt", "/home/u/.aws/credentials": Self.credentialsFile]
        var env = everything
        var expected = ["AKIDENV", "ASIAWEB", "AKIDPROFILE", "ASIACONT", "ASIAIMDS"]
        var removals: [[String]] = [
            ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"], ["AWS_WEB_IDENTITY_TOKEN_FILE"],
            ["AWS_SHARED_CREDENTIALS_FILE"],
            ["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"],
        ]
        while !expected.isEmpty {
            let config = try resolve(env, files: files, transport: transport)
            let credentials = try config.credentials.credentials(forceRefresh: false)
            #expect(credentials.accessKeyId == expected.removeFirst())
            guard !removals.isEmpty else { break }
            for name in removals.removeFirst() {
                if name == "AWS_SHARED_CREDENTIALS_FILE" { env[name] = "/none" } else { env[name] = nil }
            }
        }
        #expect(expected.isEmpty)
    }
}
