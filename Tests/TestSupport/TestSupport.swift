// Shared test helpers: fixture generators and the local S3 server harness.
