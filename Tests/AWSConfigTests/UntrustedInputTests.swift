import AWSConfig
import Foundation
import SigV4
import TestSupport
import Testing

/// Mutations of a seed: byte flips, insertions of syntax characters, deletions, truncations.
func mutations(of seed: String, count: Int, seedValue: UInt64) -> [String] {
    var rng = SplitMix64(state: seedValue)
    let alphabet = Array("[]=\n\r\t #;<>/&amp;\"'\\%~é\u{0}".utf8)
    return (0..<count).map { _ in
        var bytes = Array(seed.utf8)
        for _ in 0..<Int.random(in: 1...8, using: &rng) {
            guard !bytes.isEmpty else { break }
            let at = Int.random(in: 0..<bytes.count, using: &rng)
            switch Int.random(in: 0..<4, using: &rng) {
            case 0: bytes[at] = alphabet.randomElement(using: &rng)!
            case 1: bytes.insert(alphabet.randomElement(using: &rng)!, at: at)
            case 2: bytes.remove(at: at)
            default: bytes = Array(bytes[..<at])
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

@Suite("Untrusted input never crashes the parsers; secrets never leak through reflection")
struct UntrustedInputTests {
    @Test("mutated config files parse or are refused in one line naming the file and line, never crash")
    func configFiles() throws {
        let seed =
            "[default]\nregion = x\n[profile p]\ns3 =\n  addressing_style = path\nrole_arn = a\n  more\n[services s]\ns3 =\n endpoint_url = http://h\n"
        var refused = 0
        for text in mutations(of: seed, count: 2000, seedValue: 1) {
            do {
                let files = try SharedConfigFiles(
                    configPath: "/c", credentialsPath: "/k", files: InMemoryFiles(["/c": text, "/k": text]))
                _ = files.profile("default")
                _ = files.profile("p")
                _ = files.services("s")
            } catch let error as ConfigurationError {
                refused += 1
                #expect([.noCredentials, .invalidConfiguration].contains(error.kind))  // exit 78
                #expect(!error.description.contains("\n"))
                #expect(error.description.hasPrefix("/c line ") || error.description.hasPrefix("/k line "), "\(error)")
            }
        }
        #expect(refused > 0 && refused < 2000)
    }

    @Test("mutated STS answers and error documents never crash, and never produce credentials without both keys")
    func stsDocuments() throws {
        let seed = stsAnswer(action: "AssumeRole", id: "ASIAX", secret: "sec", token: "to&amp;ken", expiration: t0)
        for (index, text) in mutations(of: seed, count: 500, seedValue: 2).enumerated() {
            let transport = FakeTransport { _, _ in response(index % 5 == 0 ? 403 : 200, text) }
            let config = try resolve(
                ["AWS_WEB_IDENTITY_TOKEN_FILE": "/t", "AWS_ROLE_ARN": "arn:aws:iam::1:role/R"],
                files: ["/t": "jwt"], transport: transport)
            do {
                let credentials = try config.credentials.credentials(forceRefresh: false)
                #expect(!credentials.accessKeyId.isEmpty || !credentials.secretAccessKey.isEmpty)
            } catch let error as ConfigurationError {
                #expect(!error.description.contains("\n"))
            }
        }
    }

    @Test("mutated timestamps parse or are rejected, never crash")
    func timestamps() {
        for text in mutations(of: "2019-05-29T00:21:43.123+02:00", count: 3000, seedValue: 3) {
            if let date = AmzDate.parseISO8601(text) { _ = AmzDate(date).iso8601 }
        }
    }

    @Test("a resolved configuration holding live credentials shows no secret when printed or dumped")
    func reflection() throws {
        let config = try resolve([
            "AWS_ACCESS_KEY_ID": "AKIDLIVE", "AWS_SECRET_ACCESS_KEY": "live-secret-value",
            "AWS_SESSION_TOKEN": "live-token-value",
        ])
        _ = try config.credentials.credentials(forceRefresh: false)
        var dumped = ""
        dump(config, to: &dumped)
        for text in [dumped, String(describing: config), String(reflecting: config), config.summary] {
            #expect(!text.contains("live-secret-value"))
            #expect(!text.contains("live-token-value"))
        }
    }
}
