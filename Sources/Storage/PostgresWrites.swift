import NIOCore
import OrderedJSON
import PostgresNIO

/// The writes of a batch inside its transaction. What a condition reads is locked until the commit
/// (`FOR UPDATE`, `FOR SHARE`), so a concurrent writer waits and then sees the new state; a create
/// (`mustNotExist`) is an `INSERT … ON CONFLICT DO NOTHING`, so of two creators exactly one inserts.
extension PostgresDocumentStore {
    func apply(_ write: StoreWrite, _ db: PostgresConnection) async throws -> WriteOutcome {
        switch write {
        case .put(let index, let id, let source, let attachment, let condition):
            return .stored(try await put(index: index, id: id, source: source, attachment: attachment, condition: condition, db))
        case .delete(let index, let id, let condition):
            let existing = try await Self.documents(db.query(
                "SELECT id, version, seq_no, primary_term, body FROM ml_documents WHERE index_name = \(index) AND id = \(id) FOR UPDATE",
                logger: logger), index: index).first
            try condition.verify(current: existing.map { ($0.seqNo, $0.primaryTerm) }, index: index, id: id)
            guard var document = existing else { return .deleted(nil) }
            document.seqNo = try await nextSeqNo(index, db)
            document.version += 1
            try await remove(index: index, ids: [id], db)
            return .deleted(document)
        case .deleteByQuery(let index, let query):
            let mapping = try await mapping(db, index: index)
            var translator = PostgresQueryTranslator(mapping: mapping)
            let bounds = translator.bounds(query)
            var fragment = translator.fragment
            let indexParameter = fragment.bind(index)
            let rows = try await db.query(PostgresQuery(unsafeSQL: """
                SELECT id, version, seq_no, primary_term, body FROM ml_documents
                WHERE index_name = \(indexParameter) AND \(bounds.maybe) FOR UPDATE
                """, binds: fragment.binds), logger: logger)
            let doomed = try await Self.documents(rows, index: index).filter { query.matches($0, mapping: mapping) }
            try await remove(index: index, ids: doomed.map(\.id), db)
            return .deletedCount(doomed.count)
        case .check(let index, let id, let condition):
            try condition.verify(current: try await current(index: index, id: id, lock: "FOR SHARE", db), index: index, id: id)
            return .checked
        }
    }

    private func put(index: String, id: String, source: JSONObject, attachment: [UInt8]?, condition: WriteCondition,
                     _ db: PostgresConnection) async throws -> StoredDocument {
        let existing = try await current(index: index, id: id, lock: "FOR UPDATE", db)
        try condition.verify(current: existing, index: index, id: id)
        let seqNo = try await nextSeqNo(index, db)
        try await claimUniqueValues(index: index, id: id, source: source, db)
        let body = JSON.object(source).serialized
        let written: PostgresRowSequence
        if condition == .mustNotExist {
            // No row to lock: the insert itself decides between two creators.
            written = try await db.query("""
                INSERT INTO ml_documents (index_name, id, version, seq_no, primary_term, body, source)
                VALUES (\(index), \(id), 1, \(seqNo), 1, \(body), \(body)::jsonb)
                ON CONFLICT (index_name, id) DO NOTHING RETURNING version
                """, logger: logger)
        } else {
            written = try await db.query("""
                INSERT INTO ml_documents (index_name, id, version, seq_no, primary_term, body, source)
                VALUES (\(index), \(id), 1, \(seqNo), 1, \(body), \(body)::jsonb)
                ON CONFLICT (index_name, id) DO UPDATE SET version = ml_documents.version + 1, seq_no = excluded.seq_no,
                    body = excluded.body, source = excluded.source
                RETURNING version
                """, logger: logger)
        }
        var version: Int64?
        for try await value in written.decode(Int64.self) { version = value }
        guard let version else {
            throw StoreError.versionConflict(index: index, id: id, reason: "[\(id)]: version conflict, document already exists")
        }
        // A new document has no attachment yet (deleting one deletes its attachment), so only a
        // replaced one can have an old one to drop: one round trip less per new document.
        if existing != nil || version > 1 {
            try await db.query("DELETE FROM ml_attachments WHERE index_name = \(index) AND id = \(id)", logger: logger)
        }
        if let attachment {
            try await db.query("INSERT INTO ml_attachments (index_name, id, data) VALUES (\(index), \(id), \(ByteBuffer(bytes: attachment)))",
                               logger: logger)
        }
        return StoredDocument(index: index, id: id, source: source, version: version, seqNo: seqNo, primaryTerm: 1)
    }

    /// The document's sequence number and primary term, locked until the commit; nil when there is none.
    private func current(index: String, id: String, lock: String, _ db: PostgresConnection) async throws -> (seqNo: Int64, primaryTerm: Int64)? {
        let locking = lock == "FOR SHARE" ? "FOR SHARE" : "FOR UPDATE"  // a fixed keyword, never caller text
        let rows = try await db.query(PostgresQuery(unsafeSQL:
            "SELECT seq_no, primary_term FROM ml_documents WHERE index_name = $1 AND id = $2 \(locking)",
            binds: Self.bindings(index, id)), logger: logger)
        return try await rows.collect().first.map { try $0.decode((Int64, Int64).self) }
    }

    private static func bindings(_ values: String...) -> PostgresBindings {
        var binds = PostgresBindings()
        for value in values { binds.append(value, context: .default) }
        return binds
    }

    /// The index's next sequence number; the row lock it takes orders the index's writers.
    private func nextSeqNo(_ index: String, _ db: PostgresConnection) async throws -> Int64 {
        let rows = try await db.query("""
            INSERT INTO ml_indices (name, seq_no, created_time) VALUES (\(index), 0, (extract(epoch FROM now()) * 1000)::bigint)
            ON CONFLICT (name) DO UPDATE SET seq_no = ml_indices.seq_no + 1 RETURNING seq_no
            """, logger: logger)
        guard let seqNo = try await rows.collect().first?.decode(Int64.self) else { throw StoreError.storage("no sequence number for index \(index)") }
        return seqNo
    }

    private func remove(index: String, ids: [String], _ db: PostgresConnection) async throws {
        guard !ids.isEmpty else { return }
        // Attachments go with their documents (ON DELETE CASCADE).
        try await db.query("DELETE FROM ml_documents WHERE index_name = \(index) AND id = ANY(\(ids))", logger: logger)
        try await db.query("DELETE FROM ml_unique_values WHERE index_name = \(index) AND id = ANY(\(ids))", logger: logger)
    }

    /// Takes the document's unique values; the primary key of `ml_unique_values` makes a concurrent
    /// claim of the same value wait for this transaction, then fail.
    private func claimUniqueValues(index: String, id: String, source: JSONObject, _ db: PostgresConnection) async throws {
        guard let fields = uniqueFields[index], !fields.isEmpty else { return }
        try await db.query("DELETE FROM ml_unique_values WHERE index_name = \(index) AND id = \(id)", logger: logger)
        for field in fields {
            guard let value = JSON.object(source).value(atPath: field)?.scalarText else { continue }
            let claimed = try await db.query("""
                INSERT INTO ml_unique_values (index_name, field, value, id) VALUES (\(index), \(field), \(value), \(id))
                ON CONFLICT (index_name, field, value) DO NOTHING RETURNING 1
                """, logger: logger).collect().count > 0
            guard !claimed else { continue }
            let holders = try await db.query(
                "SELECT id FROM ml_unique_values WHERE index_name = \(index) AND field = \(field) AND value = \(value)", logger: logger)
            var holder = ""
            for try await other in holders.decode(String.self) { holder = other }
            throw StoreError.uniqueViolation(index: index, field: field, value: value, existingID: holder)
        }
    }
}
