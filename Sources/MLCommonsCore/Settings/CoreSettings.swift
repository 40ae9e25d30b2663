import OrderedJSON

/// OpenSearch core settings that set-up scripts and tutorials send along with ML Commons ones
/// (disk watermarks, index auto-creation, log levels). They are accepted and shown back, and
/// change nothing here; every other key outside `plugins.ml_commons.*` is refused by name, so a
/// request cannot fill the settings document with keys of its own invention.
enum CoreSettings {
    static let maxSettingsPerRequest = 1_000
    static let maxValueLength = 1_024
    /// `logger.*` names are open-ended: a bound on how many a scope may keep.
    static let maxStoredCoreSettings = 256

    static let accepted: Set<String> = [
        "cluster.routing.allocation.disk.threshold_enabled",
        "cluster.routing.allocation.disk.watermark.low",
        "cluster.routing.allocation.disk.watermark.high",
        "cluster.routing.allocation.disk.watermark.flood_stage",
        "cluster.routing.allocation.enable",
        "cluster.max_shards_per_node",
        "action.auto_create_index",
        "action.destructive_requires_name",
        "search.max_buckets",
    ]
    static let logLevels: Set<String> = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL", "OFF"]

    static func isAccepted(_ key: String) -> Bool {
        accepted.contains(key) || (key.hasPrefix("logger.") && key.count <= 256)
    }

    /// A scalar of bounded length; log levels must be one of Log4j's.
    static func validate(key: String, value: JSON) throws -> JSON {
        guard let text = value.scalarText, text.utf8.count <= maxValueLength else {
            throw MLError.illegalArgument("setting [\(key)] expects a single value of at most \(maxValueLength) bytes")
        }
        if key.hasPrefix("logger."), !logLevels.contains(text.uppercased()) {
            throw MLError.illegalArgument("Unknown level constant [\(text)].")
        }
        return value
    }
}
