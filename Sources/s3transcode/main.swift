import S3TranscodeCommands

S3Transcode.main()
