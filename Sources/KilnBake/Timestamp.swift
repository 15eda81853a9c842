import OCI

/// RFC 3339 UTC text for seconds since the epoch, e.g. `1970-01-01T00:00:00Z`.
func rfc3339(_ seconds: Int64) -> String { UTCTime(seconds).rfc3339 }
