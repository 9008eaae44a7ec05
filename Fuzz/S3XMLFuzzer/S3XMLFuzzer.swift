// libFuzzer target over the S3 XML parser (`Sources/S3/S3XML.swift`, compiled into this module by
// `Scripts/fuzz.sh 600 xml`): every S3 answer body is untrusted bytes. A finding is a trap, an
// AddressSanitizer report, a leak or a hang; `nil` (not XML) is a fine answer.
import Foundation

#if canImport(Glibc)
import Glibc
#endif

@_cdecl("LLVMFuzzerInitialize")
public func fuzzerInitialize(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> Int32 {
    if let directory = getenv("FUZZ_WRITE_SEEDS") {
        let path = String(cString: directory)
        mkdir(path, 0o755)
        for (index, document) in seeds.enumerated() {
            _ = FileManager.default.createFile(atPath: "\(path)/seed-\(index).xml", contents: Data(document.utf8))
        }
        exit(0)
    }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    if let root = XMLElementNode.parse(bytes) {
        // Walk what the client reads from each kind of answer.
        _ = root.children("Contents").map { ($0.text("Key"), $0.text("Size").flatMap { Int($0) }, $0.text("ETag")) }
        _ = root.children("Upload").map { ($0.text("Key"), $0.text("UploadId"), $0.text("Initiated")) }
        _ = root.text("UploadId")
    }
    if let error = S3ErrorDocument(bytes) {
        _ = (error.code, error.message)
    }
    return 0
}

let seeds = [
    """
    <?xml version="1.0" encoding="UTF-8"?>
    <Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match</Message><StringToSign>AWS4-HMAC-SHA256</StringToSign><RequestId>4442587FB7D0A2F9</RequestId></Error>
    """,
    """
    <?xml version="1.0" encoding="UTF-8"?>
    <ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><Prefix>p/</Prefix><KeyCount>2</KeyCount><IsTruncated>true</IsTruncated><NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken><Contents><Key>p/a.mp3</Key><LastModified>2026-01-01T00:00:00.000Z</LastModified><ETag>&quot;9b2cf535f27731c974343645a3985328&quot;</ETag><Size>434234</Size><StorageClass>STANDARD</StorageClass></Contents><CommonPrefixes><Prefix>p/x/</Prefix></CommonPrefixes></ListBucketResult>
    """,
    """
    <InitiateMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>b</Bucket><Key>k</Key><UploadId>VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA</UploadId></InitiateMultipartUploadResult>
    """,
    """
                                                \n<?xml version="1.0" encoding="UTF-8"?>
    <CompleteMultipartUploadResult><Location>http://b.s3.amazonaws.com/k</Location><Bucket>b</Bucket><Key>k</Key><ETag>"3858f62230ac3c915f300c664312c11f-9"</ETag><ChecksumCRC32>AAAAAA==</ChecksumCRC32></CompleteMultipartUploadResult>
    """,
    """
    <ListMultipartUploadsResult><Bucket>b</Bucket><IsTruncated>false</IsTruncated><Upload><Key>k</Key><UploadId>abc</UploadId><Initiated>2026-11-29T00:00:00.000Z</Initiated></Upload><Upload><Key>k2</Key><UploadId>def</UploadId><Initiated>2010-11-10T20:48:33.000Z</Initiated></Upload></ListMultipartUploadsResult>
    """,
    """
    <s3:Error xmlns:s3="x"><![CDATA[<Code>x</Code>]]><s3:Code>InternalError</s3:Code></s3:Error>
    """,
]
