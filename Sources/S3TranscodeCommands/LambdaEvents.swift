import Basics
import SigV4

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
        guard let value = try? JSONValue.parse(json) else {
            throw ParseError(description: "the event is not JSON")
        }
        try read(value, messageId: nil)
    }

    private mutating func read(_ value: JSONValue, messageId: String?) throws(ParseError) {
        guard let event = value.object else {
            throw ParseError(description: "the event is not a JSON object")
        }
        if let records = event["Records"]?.objects {
            for record in records { try readRecord(record, messageId: messageId) }
        } else if event["Event"]?.string == "s3:TestEvent" {
            skipped.append(
                Skipped(
                    what: "s3:TestEvent of \(event["Bucket"]?.string ?? "?")",
                    reason: "a test event S3 sends when a notification is configured", messageId: messageId))
        } else if event["Type"]?.string == "Notification", let message = event["Message"]?.string {
            try read(LambdaEvent.parse(message, what: "the SNS message"), messageId: messageId)
        } else if let detailType = event["detail-type"]?.string, let detail = event["detail"]?.object {
            readEventBridge(detailType: detailType, detail: detail, messageId: messageId)
        } else {
            throw ParseError(
                description: "not an S3, SQS, SNS or EventBridge event (keys: "
                    + event.keys.sorted().prefix(8).joined(separator: ", ") + ")")
        }
    }

    private mutating func readRecord(_ record: [String: JSONValue], messageId: String?) throws(ParseError) {
        if let s3 = record["s3"]?.object {
            readS3Record(s3, eventName: record["eventName"]?.string ?? "", messageId: messageId)
        } else if let body = record["body"]?.string,
            record["eventSource"]?.string == "aws:sqs" || record["messageId"] != nil
        {
            isSQS = true
            let id = record["messageId"]?.string
            do {
                try read(LambdaEvent.parse(body, what: "the SQS message body"), messageId: id)
            } catch {
                malformed.append(Malformed(messageId: id, error: "SQS message \(id ?? "?"): \(error.description)"))
            }
        } else if let sns = record["Sns"]?.object, let message = sns["Message"]?.string {
            try read(LambdaEvent.parse(message, what: "the SNS message"), messageId: messageId)
        } else {
            throw ParseError(
                description: "a record is neither S3, SQS nor SNS (eventSource "
                    + "\(record["eventSource"]?.string ?? record["EventSource"]?.string ?? "none"))")
        }
    }

    private mutating func readS3Record(_ s3: [String: JSONValue], eventName: String, messageId: String?) {
        let bucket = s3["bucket"]?.object?["name"]?.string ?? ""
        // S3 writes the key form-URL-encoded: `+` for a space, then percent escapes (`a+b.wav` is
        // `a b.wav`, `a%2Bb.wav` is `a+b.wav`); a key with an invalid escape is taken as written.
        let key = S3Path.formDecode(s3["object"]?.object?["key"]?.string ?? "")
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
    private mutating func readEventBridge(detailType: String, detail: [String: JSONValue], messageId: String?) {
        let bucket = detail["bucket"]?.object?["name"]?.string ?? ""
        let key = detail["object"]?.object?["key"]?.string ?? ""
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

    private static func parse(_ text: String, what: String) throws(ParseError) -> JSONValue {
        guard let value = try? JSONValue.parse(text) else {
            throw ParseError(description: "\(what) is not JSON")
        }
        return value
    }
}
