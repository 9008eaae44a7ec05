import S3TranscodeCommands

S3Transcode.main(S3Transcode.arguments())
