import Foundation

/// What one Lambda invocation asks for, read from its event: the objects to transcode, the records
/// that ask for nothing (skipped, with the reason), and the SQS messages that could not be read.
///
/// Understood shapes (the outer ones may nest the inner ones):
/// - an S3 event notification, `Records[].s3.bucket.name` / `.s3.object.key`, every record
///   ([event structure](https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html));
/// - SQS, `Records[].body` holding any of these as JSON, with `Records[].messageId`;
/// - SNS, `Records[].Sns.Message` holding any of these as JSON (and an SNS envelope,
///   `{"Type":"Notification","Message":…}`, as an SQS body);
/// - EventBridge `Object Created`, `detail.bucket.name` / `detail.object.key`;
/// - S3's `s3:TestEvent`, sent when a notification is configured: skipped.
struct LambdaEvent {
    /// One object to transcode.
    struct Object: Equatable {
        var bucket: String
        /// Decoded: the object's real key.
        var key: String
        /// The SQS message it came in, when it did.
        var messageId: String?
    }

    /// A record that asks for nothing.
    struct Skipped: Equatable {
        var what: String
        var reason: String
        var messageId: String?
    }

    /// An SQS message whose body is not an event this runtime understands: it fails, so that SQS
    /// retries it and at last moves it to the dead-letter queue, where someone can look at it.
    struct Malformed: Equatable {
        var messageId: String?
        var error: String
    }

    var objects: [Object] = []
    var skipped: [Skipped] = []
    var malformed: [Malformed] = []
    /// The event came from SQS: the answer is a partial batch response.
    var isSQS = false

    /// No objects: an event that asks for nothing.
    init() {}

    struct ParseError: Error, CustomStringConvertible {
        var description: String
    }

    /// Reads an invocation's payload. Throws when the payload is not JSON or not a shape listed above
    /// (a malformed SQS body is not thrown: it becomes a `Malformed` entry for that message).
    init(json: [UInt8]) throws(ParseError) {
        guard let value = try? JSONSerialization.jsonObject(with: Data(json)) else {
            throw ParseError(description: "the event is not JSON")
        }
        try read(value, messageId: nil)
    }

    private mutating func read(_ value: Any, messageId: String?) throws(ParseError) {
        guard let event = value as? [String: Any] else {
            throw ParseError(description: "the event is not a JSON object")
        }
        if let records = event["Records"] as? [[String: Any]] {
            for record in records { try readRecord(record, messageId: messageId) }
        } else if event["Event"] as? String == "s3:TestEvent" {
            skipped.append(
                Skipped(
                    what: "s3:TestEvent of \(event["Bucket"] as? String ?? "?")",
                    reason: "a test event S3 sends when a notification is configured", messageId: messageId))
        } else if event["Type"] as? String == "Notification", let message = event["Message"] as? String {
            try read(LambdaEvent.parse(message, what: "the SNS message"), messageId: messageId)
        } else if let detailType = event["detail-type"] as? String, let detail = event["detail"] as? [String: Any] {
            readEventBridge(detailType: detailType, detail: detail, messageId: messageId)
        } else {
            throw ParseError(
                description: "not an S3, SQS, SNS or EventBridge event (keys: "
                    + event.keys.sorted().prefix(8).joined(separator: ", ") + ")")
        }
    }

    private mutating func readRecord(_ record: [String: Any], messageId: String?) throws(ParseError) {
        if let s3 = record["s3"] as? [String: Any] {
            readS3Record(s3, eventName: record["eventName"] as? String ?? "", messageId: messageId)
        } else if let body = record["body"] as? String,
            record["eventSource"] as? String == "aws:sqs" || record["messageId"] != nil
        {
            isSQS = true
            let id = record["messageId"] as? String
            do {
                try read(LambdaEvent.parse(body, what: "the SQS message body"), messageId: id)
            } catch {
                malformed.append(Malformed(messageId: id, error: "SQS message \(id ?? "?"): \(error.description)"))
            }
        } else if let sns = record["Sns"] as? [String: Any], let message = sns["Message"] as? String {
            try read(LambdaEvent.parse(message, what: "the SNS message"), messageId: messageId)
        } else {
            throw ParseError(
                description: "a record is neither S3, SQS nor SNS (eventSource "
                    + "\(record["eventSource"] as? String ?? record["EventSource"] as? String ?? "none"))")
        }
    }

    private mutating func readS3Record(_ s3: [String: Any], eventName: String, messageId: String?) {
        let bucket = (s3["bucket"] as? [String: Any])?["name"] as? String ?? ""
        let rawKey = (s3["object"] as? [String: Any])?["key"] as? String ?? ""
        let key = LambdaEvent.decodeS3Key(rawKey)
        guard eventName.hasPrefix("ObjectCreated:") else {
            skipped.append(
                Skipped(
                    what: "s3://\(bucket)/\(key)",
                    reason: "event \(eventName): only ObjectCreated events are transcoded",
                    messageId: messageId))
            return
        }
        objects.append(Object(bucket: bucket, key: key, messageId: messageId))
    }

    /// EventBridge's keys are not URL-encoded.
    private mutating func readEventBridge(detailType: String, detail: [String: Any], messageId: String?) {
        let bucket = (detail["bucket"] as? [String: Any])?["name"] as? String ?? ""
        let key = (detail["object"] as? [String: Any])?["key"] as? String ?? ""
        guard detailType == "Object Created" else {
            skipped.append(
                Skipped(
                    what: "s3://\(bucket)/\(key)",
                    reason: "EventBridge \(detailType): only Object Created is transcoded",
                    messageId: messageId))
            return
        }
        objects.append(Object(bucket: bucket, key: key, messageId: messageId))
    }

    private static func parse(_ text: String, what: String) throws(ParseError) -> Any {
        guard let value = try? JSONSerialization.jsonObject(with: Data(text.utf8)) else {
            throw ParseError(description: "\(what) is not JSON")
        }
        return value
    }

    /// An S3 notification's key as S3 writes it: form-URL-encoded, `+` for a space, then percent
    /// escapes (`a+b.wav` is `a b.wav`, `a%2Bb.wav` is `a+b.wav`). A key with an invalid escape is
    /// taken as written.
    static func decodeS3Key(_ key: String) -> String {
        let spaced = key.replacingOccurrences(of: "+", with: " ")
        return spaced.removingPercentEncoding ?? spaced
    }
}
