import CExpat

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

    /// Deeper documents are refused: S3's are four levels deep, and a tree this shallow can be
    /// compared and freed without deep recursion.
    static let maximumDepth = 32

    /// Parses a whole document with expat; `nil` when the bytes are not well-formed UTF-8 XML, or
    /// hold a DTD or a processing instruction (S3 sends neither; a DTD is where entity expansion
    /// attacks live).
    static func parse(_ bytes: [UInt8]) -> XMLElementNode? {
        // S3 sends spaces while a CompleteMultipartUpload works, before the XML declaration, which
        // XML allows only as the very first bytes.
        let start = bytes.firstIndex { !($0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D) } ?? bytes.endIndex
        guard start < bytes.endIndex, bytes.count - start <= Int(Int32.max) else { return nil }
        // UTF-8 whatever the declaration says: expat then refuses malformed UTF-8 itself.
        guard let parser = XML_ParserCreate("UTF-8") else { return nil }
        defer { XML_ParserFree(parser) }
        let builder = TreeBuilder()
        let unmanaged = Unmanaged.passRetained(builder)
        defer { unmanaged.release() }
        XML_SetUserData(parser, unmanaged.toOpaque())
        XML_SetElementHandler(
            parser,
            { user, name, _ in
                TreeBuilder.from(user).start(name)
            },
            { user, _ in
                TreeBuilder.from(user).end()
            })
        XML_SetCharacterDataHandler(parser) { user, text, length in
            TreeBuilder.from(user).characters(text, Int(length))
        }
        XML_SetProcessingInstructionHandler(parser) { user, _, _ in TreeBuilder.from(user).refuse() }
        XML_SetStartDoctypeDeclHandler(parser) { user, _, _, _, _ in TreeBuilder.from(user).refuse() }
        builder.parser = parser
        let status = bytes[start...].withUnsafeBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) {
                XML_Parse(parser, $0, Int32(buffer.count), 1)
            }
        }
        guard status == XML_STATUS_OK, !builder.refused else { return nil }
        return builder.root
    }
}

/// Builds the tree from expat's callbacks.
private final class TreeBuilder {
    var stack: [XMLElementNode] = []
    var root: XMLElementNode?
    var refused = false
    var parser: XML_Parser?

    static func from(_ user: UnsafeMutableRawPointer?) -> TreeBuilder {
        Unmanaged<TreeBuilder>.fromOpaque(user!).takeUnretainedValue()
    }

    func start(_ name: UnsafePointer<XML_Char>?) {
        guard let name, stack.count < XMLElementNode.maximumDepth else { return refuse() }
        let qualified = String(cString: name)
        // A prefixed name (`s3:Key`) counts by its local part.
        let local = qualified.split(separator: ":").last.map(String.init) ?? qualified
        stack.append(XMLElementNode(name: local, text: "", children: []))
    }

    func characters(_ text: UnsafePointer<XML_Char>?, _ length: Int) {
        guard let text, length > 0, !stack.isEmpty else { return }
        text.withMemoryRebound(to: UInt8.self, capacity: length) {
            stack[stack.count - 1].text += String(
                decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
        }
    }

    func end() {
        guard let node = stack.popLast() else { return }
        if stack.isEmpty {
            root = node
        } else {
            stack[stack.count - 1].children.append(node)
        }
    }

    /// Stops the parse: the document is not one of S3's.
    func refuse() {
        refused = true
        if let parser { XML_StopParser(parser, XML_Bool(XML_FALSE)) }
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
