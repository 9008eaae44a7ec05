import Foundation

/// The fault-injecting HTTP proxy (`Tests/TestSupport/fault-proxy.py`) between s3transcode and the
/// local S3 server: it forwards requests unchanged (the Host header too, so SigV4 signatures made for
/// the proxy's address still verify) and injects the faults of its rules per S3 operation.
///
/// It listens on 127.0.0.1 only and stops by itself: when `stop()` or deinit closes its stdin, when
/// this test process exits, or after `lifetime` seconds.
public final class FaultProxy: @unchecked Sendable {  // every stored property is set once, in init
    /// One injected fault for some requests of one S3 operation (see the script's doc comment).
    public struct Rule: Sendable {
        public enum Fault: String, Sendable {
            case slowDown = "503"
            case internalError = "500"
            case resetRequest = "reset-request"
            case resetResponse = "reset-response"
            case stall = "stall"
            case stallRequest = "stall-request"
            case complete200Error = "complete-200-error"
            case clockSkewed = "skewed"
            case noSuchUpload = "nosuchupload"
        }

        public enum Selection: Sendable {
            /// Requests N, 2N, 3N … of the operation.
            case every(Int)
            /// A share of the requests, drawn from a seeded generator (the same requests each run).
            case share(Double, seed: Int)
            /// These 1-based request numbers.
            case nth([Int])
            /// The first N requests.
            case first(Int)
            case all
        }

        public var operation: String
        /// Each selected request gets the next of these in turn.
        public var faults: [Fault]
        public var selection: Selection

        public init(_ operation: String, _ fault: Fault, _ selection: Selection) {
            self.init(operation, faults: [fault], selection)
        }

        public init(_ operation: String, faults: [Fault], _ selection: Selection) {
            self.operation = operation
            self.faults = faults
            self.selection = selection
        }

        var json: [String: Any] {
            var object: [String: Any] = ["op": operation, "fault": faults.map(\.rawValue)]
            switch selection {
            case .every(let n): object["every"] = n
            case .share(let share, let seed):
                object["share"] = share
                object["seed"] = seed
            case .nth(let numbers): object["nth"] = numbers
            case .first(let n): object["first"] = n
            case .all: break
            }
            return object
        }
    }

    /// One request the proxy saw: its operation, what it did (`pass` or the fault) and the status it
    /// answered (`nil` when it answered nothing).
    public struct Entry: Sendable, Equatable, CustomStringConvertible {
        public var operation: String
        public var method: String
        public var action: String
        public var status: Int?

        public var description: String { "\(operation) \(action) \(status.map(String.init) ?? "-")" }
    }

    public struct StartError: Error, CustomStringConvertible {
        public let description: String
    }

    /// `http://127.0.0.1:PORT`.
    public var endpoint: String { proxy.endpoint }
    private let proxy: ProxyProcess

    /// Starts the proxy in front of `upstream` (`http://127.0.0.1:PORT`).
    public init(upstream: String, rules: [Rule], lifetime: Int = 600) throws {
        let rulesJSON = String(decoding: try JSONSerialization.data(withJSONObject: rules.map(\.json)), as: UTF8.self)
        proxy = try ProxyProcess(
            script: "fault-proxy.py", upstream: upstream,
            arguments: ["--rules", rulesJSON, "--lifetime", String(lifetime)])
    }

    /// Stops the proxy (closing its stdin) and waits for it.
    public func stop() { proxy.stop() }

    /// Every request so far, in the order the proxy decided on them.
    public func entries() -> [Entry] {
        proxy.logLines().map { fields in
            Entry(operation: fields[1], method: fields[2], action: fields[4], status: Int(fields[5]))
        }
    }

    /// How many requests of `operation` got `fault` (or were passed through, for `"pass"`).
    public func count(_ operation: String, _ action: String) -> Int {
        entries().filter { $0.operation == operation && $0.action == action }.count
    }

    public func count(_ operation: String, _ fault: Rule.Fault) -> Int { count(operation, fault.rawValue) }
}

/// A proxy script of this folder (fault-proxy.py, store-proxy.py) run with python3 in front of an
/// upstream S3 server: it watches this process and its own stdin (closing it stops the proxy), prints
/// `PORT <n>` first, and writes one line per request to its log (six fields, the first a number).
final class ProxyProcess: @unchecked Sendable {  // every stored property is set once, in init
    let endpoint: String
    private let process: Process
    private let input: Pipe
    private let logPath: String

    init(script name: String, upstream: String, arguments: [String]) throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(name).path
        guard let hostPort = upstream.split(separator: "/").last, upstream.hasPrefix("http://") else {
            throw FaultProxy.StartError(description: "\(name): the upstream must be http://HOST:PORT, not \(upstream)")
        }
        logPath =
            FileManager.default.temporaryDirectory.appendingPathComponent("s3t-\(name)-\(UUID().uuidString).log").path
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments =
            ["python3", script, "--upstream", String(hostPort), "--log", logPath] + arguments
            + ["--watch", String(getpid()), "--stdin-watch"]
        input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw FaultProxy.StartError(description: "cannot start \(script) with python3: \(error)")
        }
        // The first line is `PORT <n>`; a closed pipe before it means the script failed.
        var line = Data()
        while true {
            let byte = output.fileHandleForReading.readData(ofLength: 1)
            if byte.isEmpty || byte == Data("\n".utf8) { break }
            line += byte
        }
        let text = String(decoding: line, as: UTF8.self)
        guard text.hasPrefix("PORT "), let port = Int(text.dropFirst(5)) else {
            process.terminate()
            throw FaultProxy.StartError(
                description:
                    "the proxy \(script) did not start (its first line was \"\(text)\"); run it by hand to see why")
        }
        endpoint = "http://127.0.0.1:\(port)"
    }

    deinit { stop() }

    /// Stops the proxy (closing its stdin) and waits for it.
    func stop() {
        guard process.isRunning else { return }
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: logPath)
    }

    /// The fields of every request line logged so far, in order.
    func logLines() -> [[String]] {
        guard let text = try? String(contentsOfFile: logPath, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ").map(String.init)
            return fields.count == 6 && Int(fields[0]) != nil ? fields : nil
        }
    }
}
