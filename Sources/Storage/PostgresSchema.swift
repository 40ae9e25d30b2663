import Logging
import PostgresNIO

/// The PostgreSQL store's tables, created and migrated by the server at open. `ml_schema_version`
/// holds the version applied; each start applies the missing steps in order, under an advisory lock
/// so nodes starting together migrate once. A database written by a newer server is refused.
enum PostgresSchema {
    /// Steps in order; step n takes the schema from version n to n + 1. Never edit a released step: add one.
    static let steps: [[String]] = [
        [
            """
            CREATE TABLE ml_indices (
                name text PRIMARY KEY, seq_no bigint NOT NULL, created_time bigint NOT NULL)
            """,
            // `body` is the source as written (key order, number spellings); `source` is its JSONB
            // copy that searches read. Chunks' bytes live in ml_attachments, once.
            """
            CREATE TABLE ml_documents (
                index_name text NOT NULL, id text NOT NULL, version bigint NOT NULL, seq_no bigint NOT NULL,
                primary_term bigint NOT NULL, body text NOT NULL, source jsonb NOT NULL,
                PRIMARY KEY (index_name, id))
            """,
            // Unranked reads return index order; paging by it reads the index, not the table.
            "CREATE INDEX ml_documents_order ON ml_documents (index_name, seq_no)",
            // Term, terms and exists filters (`source @? '$.f ? (@ == v)'`) are answered by this index.
            "CREATE INDEX ml_documents_source ON ml_documents USING gin (source jsonb_path_ops)",
            """
            CREATE TABLE ml_attachments (
                index_name text NOT NULL, id text NOT NULL, data bytea NOT NULL, PRIMARY KEY (index_name, id),
                FOREIGN KEY (index_name, id) REFERENCES ml_documents (index_name, id) ON DELETE CASCADE)
            """,
            // Fields an index keeps unique (model group names): the primary key decides between writers.
            """
            CREATE TABLE ml_unique_values (
                index_name text NOT NULL, field text NOT NULL, value text NOT NULL, id text NOT NULL,
                PRIMARY KEY (index_name, field, value))
            """,
            "CREATE INDEX ml_unique_values_by_doc ON ml_unique_values (index_name, id)",
            """
            CREATE TABLE ml_index_definitions (
                name text PRIMARY KEY, mappings text NOT NULL, settings text NOT NULL)
            """,
            // Tasks are listed newest first: the sort key of `create_time` as the search writes it.
            """
            CREATE INDEX ml_documents_create_time ON ml_documents (index_name,
                (CASE WHEN jsonb_typeof(source -> 'create_time') = 'number' THEN (source -> 'create_time')::float8 END))
            """,
        ],
    ]

    static var version: Int { steps.count }

    /// A fixed key for `pg_advisory_xact_lock`: one migration at a time per database.
    private static let migrationLock: Int64 = 0x6D6C_636F_6D6D_6F6E

    static func migrate(_ connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query("BEGIN", logger: logger)
        do {
            try await connection.query("SELECT pg_advisory_xact_lock(\(migrationLock))", logger: logger)
            try await connection.query("CREATE TABLE IF NOT EXISTS ml_schema_version (version integer NOT NULL)", logger: logger)
            var current = 0
            for try await (version) in try await connection.query("SELECT version FROM ml_schema_version", logger: logger).decode(Int.self) {
                current = version
            }
            if current > version {
                throw StoreError.storage("the PostgreSQL store has schema version \(current), written by a newer server; this server knows versions up to \(version)")
            }
            for step in steps[current...] {
                for statement in step { try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger) }
            }
            if current < version {
                try await connection.query("DELETE FROM ml_schema_version", logger: logger)
                try await connection.query("INSERT INTO ml_schema_version (version) VALUES (\(version))", logger: logger)
                logger.info("PostgreSQL store schema migrated from version \(current) to \(version)")
            }
            try await connection.query("COMMIT", logger: logger)
        } catch {
            _ = try? await connection.query("ROLLBACK", logger: logger)
            throw error
        }
    }
}
