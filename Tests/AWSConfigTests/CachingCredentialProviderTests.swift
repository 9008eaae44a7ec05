import AWSConfig
import Foundation
import SigV4
import Synchronization
import Testing

/// Hands out numbered temporary credentials that expire `lifetime` seconds after issue.
final class CountingProvider: CredentialProvider, @unchecked Sendable {
    let clock: FakeClock
    let lifetime: Double
    let calls = Mutex(0)
    let failing = Mutex(false)
    let delay: UInt32

    init(clock: FakeClock, lifetime: Double, delayMicroseconds: UInt32 = 0) {
        self.clock = clock
        self.lifetime = lifetime
        delay = delayMicroseconds
    }

    var source: String { "counting" }
    var count: Int { calls.withLock { $0 } }

    func credentials() throws -> Credentials? {
        if delay > 0 { usleep(delay) }
        if failing.withLock({ $0 }) { throw ConfigurationError(.unavailable, "STS is down") }
        let n = calls.withLock {
            $0 += 1
            return $0
        }
        return Credentials(
            accessKeyId: "ASIA\(n)", secretAccessKey: "s\(n)", sessionToken: "t\(n)",
            expiration: clock.now().addingTimeInterval(lifetime))
    }
}

@Suite("Refreshing temporary credentials")
struct CachingCredentialProviderTests {
    @Test("cached until 5 minutes before expiry, then refreshed")
    func refreshBeforeExpiry() throws {
        let clock = FakeClock(t0)
        let base = CountingProvider(clock: clock, lifetime: 3600)
        let cache = CachingCredentialProvider(base: base, clock: clock)
        #expect(try cache.credentials(forceRefresh: false).accessKeyId == "ASIA1")
        clock.advance(3600 - 301)
        #expect(try cache.credentials(forceRefresh: false).accessKeyId == "ASIA1")
        #expect(base.count == 1)
        clock.advance(2)  // 299 s left: inside the refresh window
        #expect(try cache.credentials(forceRefresh: false).accessKeyId == "ASIA2")
        #expect(base.count == 2)
        // A six-hour run keeps getting valid credentials.
        for _ in 0..<(6 * 60) {
            clock.advance(60)
            let credentials = try cache.credentials(forceRefresh: false)
            #expect(credentials.expiration!.timeIntervalSince(clock.now()) > 60)
        }
    }

    @Test("a failed refresh inside the advisory window keeps the still-valid credentials; past it, the error is thrown")
    func refreshFailure() throws {
        let clock = FakeClock(t0)
        let base = CountingProvider(clock: clock, lifetime: 3600)
        let cache = CachingCredentialProvider(base: base, clock: clock)
        _ = try cache.credentials(forceRefresh: false)
        base.failing.withLock { $0 = true }
        clock.advance(3600 - 120)
        #expect(try cache.credentials(forceRefresh: false).accessKeyId == "ASIA1")
        clock.advance(90)  // 30 s left
        let error = try #require(throws: ConfigurationError.self) { try cache.credentials(forceRefresh: false) }
        #expect(error.kind == .unavailable)
        base.failing.withLock { $0 = false }
        #expect(try cache.credentials(forceRefresh: false).accessKeyId == "ASIA2")
    }

    @Test("long-term keys are fetched once; forceRefresh fetches again; invalidate forgets")
    func staticKeys() throws {
        let clock = FakeClock(t0)
        let base = CountingProvider(clock: clock, lifetime: 3600)
        let cache = CachingCredentialProvider(base: base, clock: clock)
        _ = try cache.credentials(forceRefresh: false)
        #expect(try cache.credentials(forceRefresh: true).accessKeyId == "ASIA2")
        cache.invalidate()
        #expect(try cache.credentials(forceRefresh: false).accessKeyId == "ASIA3")

        let fixed = CachingCredentialProvider(
            base: StaticCredentialProvider(Credentials(accessKeyId: "AKID", secretAccessKey: "s")), clock: clock)
        clock.advance(1e9)
        #expect(try fixed.credentials(forceRefresh: false).accessKeyId == "AKID")
    }

    @Test("many threads hitting ExpiredToken at once cause one refresh; concurrent readers are safe")
    func concurrentForceRefresh() throws {
        let clock = FakeClock(t0)
        let base = CountingProvider(clock: clock, lifetime: 3600, delayMicroseconds: 20_000)
        let cache = CachingCredentialProvider(base: base, clock: clock)
        _ = try cache.credentials(forceRefresh: false)
        let group = DispatchGroup()
        let results = Mutex<[String]>([])
        for _ in 0..<8 {
            group.enter()
            Thread {
                let id = (try? cache.credentials(forceRefresh: true).accessKeyId) ?? "error"
                results.withLock { $0.append(id) }
                group.leave()
            }.start()
        }
        group.wait()
        #expect(base.count == 2)
        #expect(results.withLock { $0 } == Array(repeating: "ASIA2", count: 8))
    }

    @Test("the resolved configuration refreshes assumed-role credentials through STS")
    func resolvedRefresh() throws {
        let clock = FakeClock(t0)
        let counter = Mutex(0)
        let transport = FakeTransport { _, _ in
            let n = counter.withLock {
                $0 += 1
                return $0
            }
            return response(
                200,
                stsAnswer(
                    action: "AssumeRoleWithWebIdentity", id: "ASIA\(n)", secret: "s", token: "t",
                    expiration: clock.now().addingTimeInterval(900)))
        }
        let config = try resolve(
            ["AWS_WEB_IDENTITY_TOKEN_FILE": "/t", "AWS_ROLE_ARN": "arn:aws:iam::1:role/R"],
            files: ["/t": "jwt"], transport: transport, clock: clock)
        #expect(try config.credentials.credentials(forceRefresh: false).accessKeyId == "ASIA1")
        clock.advance(500)
        #expect(try config.credentials.credentials(forceRefresh: false).accessKeyId == "ASIA1")
        clock.advance(200)  // 200 s left
        #expect(try config.credentials.credentials(forceRefresh: false).accessKeyId == "ASIA2")
        #expect(transport.sent.count == 2)
    }
}
