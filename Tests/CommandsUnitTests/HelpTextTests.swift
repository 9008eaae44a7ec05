import ArgumentParser
import Testing

@testable import S3TranscodeCommands

/// `--help` as an 80-column terminal shows it. ArgumentParser keeps the newlines of a discussion
/// and re-wraps each line to the width on its own, so a hard-wrapped sentence longer than the
/// terminal leaves a short orphan line in the middle of a paragraph, and a wrapped indented line
/// (an example, a table row) goes on at column 0.
@Suite("--help reads well at 80 columns")
struct HelpTextTests {
    static let width = 80

    static let helps: [(name: String, text: String)] =
        [("s3transcode", S3Transcode.helpMessage(columns: width))]
        + S3Transcode.configuration.subcommands.map { command in
            (command._commandName, S3Transcode.helpMessage(for: command, columns: width))
        }

    /// What reads badly in `text`, one line each.
    static func problems(in text: String) -> [String] {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        func indentation(_ line: String) -> Int { line.prefix { $0 == " " }.count }
        var problems: [String] = []
        for (a, b) in zip(lines, lines.dropFirst()) where !a.isEmpty && !b.isEmpty {
            if indentation(a) == 0 && indentation(b) == 0 {
                // A paragraph line that ends early although the next word would have fit (the
                // parser fills lines to one column less than the width), and not at the end of a
                // sentence: a hard wrap inside a sentence.
                let next = b.prefix { $0 != " " }
                if a.count + 1 + next.count < width, let last = a.last, !".:!?".contains(last) {
                    problems.append("orphan: \"\(a)\" / \"\(b)\"")
                }
            } else if indentation(a) > 0 && indentation(b) == 0 {
                problems.append("wrapped indented line: \"\(a)\" / \"\(b)\"")
            }
        }
        // The same line, or the same clause, twice.
        let clauses = text.split(whereSeparator: { $0 == "\n" || $0 == ";" })
            .map { $0.split(whereSeparator: \.isWhitespace).joined(separator: " ") }
            .filter { $0.count >= 12 }
        var seen: Set<String> = []
        for clause in clauses where !seen.insert(clause).inserted {
            problems.append("repeated: \"\(clause)\"")
        }
        return problems
    }

    @Test("no orphan lines, no wrapped indented lines, nothing said twice", arguments: helps.map(\.name))
    func readsWell(_ name: String) throws {
        let text = try #require(Self.helps.first { $0.name == name }).text
        let problems = Self.problems(in: text)
        #expect(problems.isEmpty, "\(name) --help at \(Self.width) columns:\n\(problems.joined(separator: "\n"))")
    }

    @Test("the checker finds what issue 10 found: an orphan, a wrapped example, a clause said twice")
    func checkerFindsTheKnownFaults() {
        let orphan = """
            DEST is s3://BUCKET/KEY, a local path (a directory gets INPUT's name with
            .mp3), or - for
            standard output.
            """
        #expect(Self.problems(in: orphan).count == 1)
        let wrapped = """
            Examples:
              s3transcode in.flac out.mp3 --vbr 0 --title "Blue in Green" --artist "Bill
            Evans"
            """
        #expect(Self.problems(in: wrapped).count == 1)
        let twice = "  129  hung up (SIGHUP); 130 interrupted (SIGINT); 129 hung up (SIGHUP)"
        #expect(Self.problems(in: twice) == ["repeated: \"129 hung up (SIGHUP)\""])
        #expect(Self.problems(in: "One sentence.\nAnother one.\n\n  a table row\n  another row").isEmpty)
    }
}
