import Foundation
import OrderedJSON
import Storage

/// `PUT/GET /_cluster/settings`: persistent and transient settings kept in the store, so every node
/// sharing the store sees the same values. Effective value: transient, else persistent, else the
/// start-up override (command-line flags), else the code default.
public struct ClusterSettings: Sendable {
    let store: any DocumentStore
    let startupOverrides: [String: JSON]

    public init(store: any DocumentStore, startupOverrides: [String: JSON] = [:]) {
        self.store = store
        self.startupOverrides = startupOverrides
    }

    /// The settings in force now, read fresh from the store.
    public func current() async throws -> EffectiveSettings {
        let persistent = try await store.get(index: Indices.clusterSettings, id: "persistent")?.source ?? [:]
        let transient = try await store.get(index: Indices.clusterSettings, id: "transient")?.source ?? [:]
        return EffectiveSettings(persistent: persistent, transient: transient, overrides: startupOverrides)
    }

    /// Applies a settings update body; validates everything before writing anything.
    public func update(_ body: JSON) async throws -> JSON {
        guard let object = body.objectValue else { throw MLError.parse("request body is required") }
        var changes: [(scope: String, values: [(String, JSON?)])] = []
        var count = 0
        for (scope, value) in object {
            guard scope == "persistent" || scope == "transient" else {
                throw MLError.illegalArgument("request [/_cluster/settings] contains unrecognized parameter: [\(scope)]")
            }
            guard let settings = value.objectValue else { throw MLError.parse("[\(scope)] must be an object") }
            let flat = Self.flatten(settings)
            count += flat.count
            guard count <= CoreSettings.maxSettingsPerRequest else {
                throw MLError.illegalArgument("a cluster settings update may change at most \(CoreSettings.maxSettingsPerRequest) settings, got \(count)")
            }
            var values: [(String, JSON?)] = []
            for (key, raw) in flat {
                values.append((key, raw.isNull ? JSON?.none : try Self.validate(key: key, value: raw, scope: scope)))
            }
            changes.append((scope, values))
        }
        // Checked for every scope before any is written, so a refused update changes nothing.
        for change in changes {
            var keys = Set(try await store.get(index: Indices.clusterSettings, id: change.scope)?.source.keys ?? [])
            for (key, value) in change.values { if value == nil { keys.remove(key) } else { keys.insert(key) } }
            let outside = keys.filter { !$0.hasPrefix(MLSettings.prefix) }.count
            guard outside <= CoreSettings.maxStoredCoreSettings else {
                throw MLError.illegalArgument("too many \(change.scope) settings: at most \(CoreSettings.maxStoredCoreSettings) may be set outside plugins.ml_commons")
            }
        }
        var response: JSONObject = ["acknowledged": true, "persistent": [:], "transient": [:]]
        for change in changes {
            try await apply(change.values, to: change.scope)
            let shown = JSONObject(change.values.compactMap { key, value in value.map { (key: key, value: Self.display($0)) } })
            response[change.scope] = .object(Self.nest(shown))
        }
        return .object(response)
    }

    /// The `GET /_cluster/settings` body.
    public func render(flat: Bool, includeDefaults: Bool) async throws -> JSON {
        let persistent = try await store.get(index: Indices.clusterSettings, id: "persistent")?.source ?? [:]
        let transient = try await store.get(index: Indices.clusterSettings, id: "transient")?.source ?? [:]
        func shape(_ object: JSONObject) -> JSON {
            let displayed = JSONObject(object.map { (key: $0.key, value: Self.display($0.value)) })
            return .object(flat ? displayed : Self.nest(displayed))
        }
        var result: JSONObject = ["persistent": shape(persistent), "transient": shape(transient)]
        if includeDefaults {
            let defaults = JSONObject(MLSettings.definitions.map { definition in
                let key = MLSettings.prefix + definition.key
                return (key: key, value: startupOverrides[key] ?? definition.defaultValue)
            })
            result["defaults"] = shape(defaults)
        }
        return .object(result)
    }

    private func apply(_ values: [(String, JSON?)], to scope: String) async throws {
        for attempt in 0..<10 {
            let existing = try await store.get(index: Indices.clusterSettings, id: scope)
            var source = existing?.source ?? [:]
            for (key, value) in values { source[key] = value }
            let condition: WriteCondition = existing.map { .ifMatch(seqNo: $0.seqNo, primaryTerm: $0.primaryTerm) } ?? .mustNotExist
            do {
                try await store.put(index: Indices.clusterSettings, id: scope, source: source, condition: condition)
                return
            } catch StoreError.versionConflict where attempt < 9 {
                continue
            }
        }
    }

    /// Ours and ML Commons' settings are validated by their definitions; a few OpenSearch core
    /// settings that set-up scripts commonly send are kept as given (they have no effect here);
    /// anything else is refused as OpenSearch refuses an unknown setting.
    static func validate(key: String, value: JSON, scope: String) throws -> JSON {
        if key.hasPrefix(MLSettings.prefix), let definition = MLSettings.byKey[String(key.dropFirst(MLSettings.prefix.count))] {
            return try definition.validate(value)
        }
        guard CoreSettings.isAccepted(key) else {
            throw MLError.illegalArgument("\(scope) setting [\(key)], not recognized")
        }
        return try CoreSettings.validate(key: key, value: value)
    }

    /// `{"plugins": {"ml_commons": {"a": 1}}}` → `["plugins.ml_commons.a": 1]`.
    static func flatten(_ object: JSONObject, prefix: String = "") -> [(String, JSON)] {
        object.flatMap { key, value -> [(String, JSON)] in
            let path = prefix.isEmpty ? key : prefix + "." + key
            if case .object(let child) = value { return flatten(child, prefix: path) }
            return [(path, value)]
        }
    }

    /// The inverse of `flatten`, for the nested form OpenSearch answers with by default.
    static func nest(_ flat: JSONObject) -> JSONObject {
        var root = JSON.object([:])
        for (key, value) in flat {
            root = insert(value, at: key.split(separator: ".").map(String.init)[...], into: root)
        }
        return root.objectValue ?? [:]
    }

    private static func insert(_ value: JSON, at path: ArraySlice<String>, into node: JSON) -> JSON {
        guard let head = path.first else { return value }
        var object = node.objectValue ?? [:]
        object[head] = insert(value, at: path.dropFirst(), into: object[head] ?? .object([:]))
        return .object(object)
    }

    /// OpenSearch shows setting values as strings (lists stay lists).
    static func display(_ value: JSON) -> JSON {
        if case .array(let items) = value { return .array(items.map(display)) }
        return value.scalarText.map(JSON.string) ?? value
    }
}

/// Settings resolved for one operation.
public struct EffectiveSettings: Sendable {
    let persistent: JSONObject
    let transient: JSONObject
    let overrides: [String: JSON]

    public func value(_ key: String) -> JSON {
        let full = MLSettings.prefix + key
        return transient[full] ?? persistent[full] ?? overrides[full] ?? MLSettings.byKey[key]?.defaultValue ?? .null
    }

    public func bool(_ key: String) -> Bool { value(key).boolValue ?? (value(key).stringValue == "true") }
    public func int(_ key: String) -> Int64 { value(key).intValue ?? 0 }
    public func string(_ key: String) -> String { value(key).scalarText ?? "" }
    public func bytes(_ key: String) -> Int64? { ByteSize.parse(string(key)) }
    /// A list setting (a JSON array, or one comma-separated string).
    public func stringList(_ key: String) -> [String] {
        if let items = value(key).arrayValue { return items.compactMap(\.scalarText) }
        return string(key).split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}
