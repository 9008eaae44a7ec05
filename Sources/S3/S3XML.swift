import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// An XML element as S3 writes them: a name, its text, its child elements. Attributes and
/// namespaces are ignored (S3's documents carry none that matter).
struct XMLElementNode: Sendable, Equatable {
    var name: String
    var text: String
    var children: [XMLElementNode]

    /// The first child with this name.
    func child(_ name: String) -> XMLElementNode? { children.first { $0.name == name } }

    /// All children with this name.
    func children(_ name: String) -> [XMLElementNode] { children.filter { $0.name == name } }

    /// The text of the first child with this name.
    func text(_ name: String) -> String? { child(name)?.text }

    /// Parses a whole document; `nil` when the bytes are not well-formed XML.
    static func parse(_ bytes: [UInt8]) -> XMLElementNode? {
        // S3 sends spaces while a CompleteMultipartUpload works, before the XML declaration, which
        // XMLParser accepts only as the very first bytes.
        let start = bytes.firstIndex { !($0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D) } ?? bytes.endIndex
        guard start < bytes.endIndex else { return nil }
        // FoundationXML traps on element names that are not valid UTF-8 (found by the mutation test):
        // refuse such bytes before the parser sees them.
        guard String(validating: bytes[start...], as: UTF8.self) != nil else { return nil }
        // FoundationXML crashes (strlen of NULL) on a processing instruction without data (`<?x?>`),
        // found by `Scripts/fuzz.sh 600 xml`; S3 sends none besides the XML declaration.
        guard !hasProcessingInstruction(bytes[start...]) else { return nil }
        let builder = TreeBuilder()
        let parser = XMLParser(data: Data(bytes[start...]))
        parser.shouldProcessNamespaces = false
        parser.shouldResolveExternalEntities = false
        parser.delegate = builder
        guard parser.parse(), let root = builder.root else { return nil }
        return root
    }
}

/// Whether `document` holds `<?` anywhere but in a leading XML declaration (`<?xml ` … `?>`).
/// In S3's documents text never holds a raw `<`, so any other `<?` is a processing instruction.
func hasProcessingInstruction(_ document: ArraySlice<UInt8>) -> Bool {
    var rest = document
    let declaration = Array("<?xml".utf8)
    if rest.starts(with: declaration), rest.count > declaration.count,
       [0x20, 0x09, 0x0A, 0x0D].contains(rest[rest.startIndex + declaration.count])
    {
        guard let end = rest.indices.dropFirst(2).first(where: { rest[$0] == 0x3E && rest[$0 - 1] == 0x3F }) else { return true }
        // A declaration holds no markup: a `<` inside it starts something libxml2 may parse as a PI.
        if rest[(rest.startIndex + 2)..<end].contains(0x3C) { return true }
        rest = rest[(end + 1)...]
    }
    return zip(rest, rest.dropFirst()).contains { $0 == 0x3C && $1 == 0x3F }
}

private final class TreeBuilder: NSObject, XMLParserDelegate {
    var stack: [XMLElementNode] = []
    var root: XMLElementNode?

    func parser(
        _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
        qualifiedName qName: String?, attributes attributeDict: [String: String] = [:]
    ) {
        // A prefixed name (`s3:Key`) counts by its local part.
        let local = elementName.split(separator: ":").last.map(String.init) ?? elementName
        stack.append(XMLElementNode(name: local, text: "", children: []))
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        guard !stack.isEmpty else { return }
        stack[stack.count - 1].text += string
    }

    func parser(_ parser: XMLParser, foundCDATA CDATABlock: Data) {
        guard !stack.isEmpty else { return }
        stack[stack.count - 1].text += String(decoding: CDATABlock, as: UTF8.self)
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName qName: String?) {
        guard let node = stack.popLast() else { return }
        if stack.isEmpty {
            root = node
        } else {
            stack[stack.count - 1].children.append(node)
        }
    }
}

/// S3's `<Error>` document, reduced to what may be shown. Other elements
/// (`StringToSign`, `CanonicalRequest`, `SignatureProvided`, …) are deliberately not kept.
/// <https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html>
struct S3ErrorDocument: Sendable, Equatable {
    var code: String?
    var message: String?
    var requestId: String?
    /// Sent with PermanentRedirect and AuthorizationHeaderMalformed: where the bucket lives.
    var region: String?
    /// Sent with RequestTimeTooSkewed: S3's clock.
    var serverTime: String?
    /// The code is our inference from a bodiless answer, not what S3 said (`S3Client.bodilessError`).
    var inferred = false

    /// `nil` unless the body is an `<Error>` document.
    init?(_ body: [UInt8]) {
        guard let root = XMLElementNode.parse(body), root.name == "Error" else { return nil }
        code = root.text("Code")
        message = root.text("Message")
        requestId = root.text("RequestId")
        region = root.text("Region")
        serverTime = root.text("ServerTime")
    }

    init(code: String?, message: String?) {
        self.code = code
        self.message = message
    }
}

/// Escapes text for an XML element's content.
func xmlEscape(_ text: String) -> String {
    var out = ""
    out.reserveCapacity(text.utf8.count)
    for c in text.unicodeScalars {
        switch c {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&apos;"
        case "\r": out += "&#13;"
        default: out.unicodeScalars.append(c)
        }
    }
    return out
}
