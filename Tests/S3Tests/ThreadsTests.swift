import Foundation
import Synchronization
import Testing
import Threads

@testable import S3

@Suite("Threads and the text helpers that replace Foundation's")
struct ThreadsTests {
    @Test("OSThread runs its block on another thread; Condition wakes every waiter")
    func threadsAndCondition() {
        let condition = Condition()
        let done = Mutex(0)
        for _ in 0..<4 {
            let thread = OSThread {
                condition.lock()
                done.withLock { $0 += 1 }
                condition.broadcast()
                condition.unlock()
            }
            thread.stackSize = 512 << 10
            thread.start()
        }
        condition.lock()
        while done.withLock({ $0 }) < 4 { condition.wait() }
        condition.unlock()
        #expect(done.withLock { $0 } == 4)
    }

    @Test("Condition.wait(seconds:) gives up after about the time given, and a signal ends it early")
    func timedWait() {
        let condition = Condition()
        var start = ContinuousClock.now
        condition.withLock { condition.wait(seconds: 0.1) }
        var elapsed = ContinuousClock.now - start
        #expect(elapsed >= .milliseconds(95) && elapsed < .seconds(2), "\(elapsed)")

        let signalled = Mutex(false)
        start = ContinuousClock.now
        OSThread.detachNewThread {
            OSThread.sleep(forTimeInterval: 0.05)
            condition.withLock {
                signalled.withLock { $0 = true }
                condition.broadcast()
            }
        }
        condition.withLock {
            while !signalled.withLock({ $0 }) { condition.wait(seconds: 30) }
        }
        elapsed = ContinuousClock.now - start
        #expect(elapsed < .seconds(5), "\(elapsed)")
        // Zero, negative and absurdly long-past times return at once.
        start = ContinuousClock.now
        condition.withLock {
            condition.wait(seconds: 0)
            condition.wait(seconds: -1)
        }
        #expect(ContinuousClock.now - start < .milliseconds(50))
    }

    @Test("OSThread.sleep waits about as long as asked")
    func sleep() {
        let start = ContinuousClock.now
        OSThread.sleep(forTimeInterval: 0.05)
        let elapsed = ContinuousClock.now - start
        #expect(elapsed >= .milliseconds(50) && elapsed < .seconds(2))
    }

    @Test("trimmedWhitespace and leftPadded, as trimmingCharacters and String(format:) did")
    func text() {
        #expect(trimmedWhitespace(" \t\"abc\"\r\n") == "\"abc\"")
        #expect(trimmedWhitespace("   ") == "")
        #expect(String(7).leftPadded(2, with: "0") == "07")
        #expect(String(2026).leftPadded(4, with: "0") == "2026")
        #expect(String(123).leftPadded(2, with: "0") == "123")
        for (seconds, text) in [(12.3456, "12.346s"), (0.0004, "0.000s"), (1.0, "1.000s"), (0.0999, "0.100s")] {
            let line = S3Client.logLine(
                operation: "PutObject", method: "PUT", url: "http://h/k", outcome: "200",
                attempt: 1, maxAttempts: 3, seconds: seconds)
            #expect(line.hasSuffix(" " + text), "\(line)")
        }
    }
}

@Test("availableProcessorCount counts the affinity mask as nproc (sched_getaffinity) does")
func availableProcessorsAsNproc() throws {
    let nproc = Process()
    nproc.executableURL = URL(fileURLWithPath: "/usr/bin/nproc")
    let output = Pipe()
    nproc.standardOutput = output
    nproc.environment = [:]  // nproc would also obey OMP_NUM_THREADS
    try nproc.run()
    let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    nproc.waitUntilExit()
    let expected = try #require(Int(text.filter(\.isNumber)), "nproc printed \(text)")
    #expect(availableProcessorCount() == expected)
}
