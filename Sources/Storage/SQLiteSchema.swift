/// The SQLite file's schema, versioned with `PRAGMA user_version` (0: the schema before versions)
/// and migrated in place when a store opens the file, in one write transaction.
enum SQLiteSchema {
    /// The version this build writes; a file of a later version is refused rather than misread.
    static let version = 1

    /// Top-level fields the server's own searches filter and sort on (tasks, models, groups,
    /// connectors). Each has an expression index on `(index_name, json_type, json_extract)`, which
    /// answers equalities and ranges and tells in one seek whether the index holds an array there.
    static let indexedFields = ["state", "model_id", "task_type", "create_time", "model_group_id", "model_state", "name"]

    /// The fixed path literal of an indexed field (SQLite uses an expression index only when the query
    /// names the same expression); nil for other fields, whose paths are bound parameters.
    static func indexedPath(_ field: String) -> String? { indexedFields.contains(field) ? "'$.\(field)'" : nil }

    /// Whether a row's id and source (bound as `id` and `source`) are printable ASCII without `\u` or
    /// `\r` escapes: there SQLite's byte comparisons are Swift's `String` comparisons (no canonical
    /// equivalents, no CR-LF grapheme), so searches may be decided in SQL.
    static func plain(id: String, source: String) -> String {
        "(\(id) NOT GLOB '*[^ -~]*' AND \(source) NOT GLOB '*[^ -~]*' AND instr(\(source), '\\u') = 0 AND instr(\(source), '\\r') = 0)"
    }

    /// The tables of version 0, created if missing (a new file, or one from before versions).
    static let tables = [
        """
        CREATE TABLE IF NOT EXISTS indices (
            name TEXT PRIMARY KEY, seq_no INTEGER NOT NULL, created_time INTEGER NOT NULL)
        """,
        """
        CREATE TABLE IF NOT EXISTS documents (
            index_name TEXT NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL,
            seq_no INTEGER NOT NULL, primary_term INTEGER NOT NULL, source TEXT NOT NULL,
            attachment BLOB, PRIMARY KEY (index_name, id))
        """,
        """
        CREATE TABLE IF NOT EXISTS unique_values (
            index_name TEXT NOT NULL, field TEXT NOT NULL, value TEXT NOT NULL, id TEXT NOT NULL,
            PRIMARY KEY (index_name, field, value))
        """,
        "CREATE INDEX IF NOT EXISTS unique_values_by_doc ON unique_values (index_name, id)",
        """
        CREATE TABLE IF NOT EXISTS index_definitions (
            name TEXT PRIMARY KEY, mappings TEXT NOT NULL, settings TEXT NOT NULL)
        """,
    ]

    /// `steps[v]` migrates version `v` to `v + 1`.
    static let steps: [[String]] = [
        // 1: searches in SQL (`SQLiteSearch.swift`): the plain flag, index order, the hot fields.
        ["ALTER TABLE documents ADD COLUMN plain INTEGER NOT NULL DEFAULT 0",
         "UPDATE documents SET plain = \(plain(id: "id", source: "source"))",
         "CREATE INDEX documents_by_seq ON documents (index_name, seq_no)",
         "CREATE INDEX documents_impure ON documents (index_name) WHERE plain = 0"]
            + indexedFields.map { field in
                "CREATE INDEX documents_\(field) ON documents (index_name, json_type(source, '$.\(field)'), json_extract(source, '$.\(field)'))"
            },
    ]
}
