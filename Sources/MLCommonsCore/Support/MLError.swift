import OrderedJSON

/// A failure with the OpenSearch error `type` and HTTP status that ML Commons would give for it.
public struct MLError: Error, Sendable, CustomStringConvertible {
    public let status: Int
    public let type: String
    public let reason: String
    /// Extra members of the error object (`bytes_wanted` of a circuit breaker, …).
    public var extra: JSONObject = [:]

    public init(status: Int, type: String, reason: String) {
        self.status = status
        self.type = type
        self.reason = reason
    }

    public var description: String { reason }

    /// `IllegalArgumentException`: 400.
    public static func illegalArgument(_ reason: String) -> MLError { MLError(status: 400, type: "illegal_argument_exception", reason: reason) }
    /// `OpenSearchStatusException` with a chosen status.
    public static func status(_ status: Int, _ reason: String) -> MLError { MLError(status: status, type: "status_exception", reason: reason) }
    /// `OpenSearchParseException`: 400.
    public static func parse(_ reason: String) -> MLError { MLError(status: 400, type: "parse_exception", reason: reason) }
    /// ML Commons' own exceptions surface as 500 in OpenSearch; kept for wire compatibility.
    public static func resourceNotFound(_ reason: String) -> MLError { MLError(status: 500, type: "m_l_resource_not_found_exception", reason: reason) }
    public static func validation(_ reason: String) -> MLError { MLError(status: 500, type: "m_l_validation_exception", reason: reason) }
    public static func limitExceeded(_ reason: String) -> MLError { MLError(status: 500, type: "m_l_limit_exceeded_exception", reason: reason) }
    public static func generic(_ reason: String) -> MLError { MLError(status: 500, type: "exception", reason: reason) }
    public static func circuitBreaker(_ name: String) -> MLError {
        MLError(status: 429, type: "circuit_breaking_exception", reason: "\(name) Circuit Breaker is open, please check your resources!")
    }
}

/// What an OpenSearch `DocWriteResponse` reports (delete and update endpoints).
public struct WriteResult: Sendable {
    public enum Outcome: String, Sendable { case created, updated, deleted, notFound = "not_found" }
    public let index: String
    public let id: String
    public let version: Int64
    public let seqNo: Int64
    public let primaryTerm: Int64
    public let outcome: Outcome

    public init(index: String, id: String, version: Int64, seqNo: Int64, primaryTerm: Int64, outcome: Outcome) {
        self.index = index
        self.id = id
        self.version = version
        self.seqNo = seqNo
        self.primaryTerm = primaryTerm
        self.outcome = outcome
    }

    public static func notFound(index: String, id: String) -> WriteResult {
        WriteResult(index: index, id: id, version: 1, seqNo: -2, primaryTerm: 0, outcome: .notFound)
    }

    public var json: JSON {
        [
            "_index": .string(index), "_id": .string(id), "_version": .int(version), "result": .string(outcome.rawValue),
            "forced_refresh": true, "_shards": ["total": 1, "successful": outcome == .notFound ? 0 : 1, "failed": 0],
            "_seq_no": .int(seqNo), "_primary_term": .int(primaryTerm),
        ]
    }

    /// 404 for `not_found`, as OpenSearch answers with the write response's own status.
    public var httpStatus: Int { outcome == .notFound ? 404 : (outcome == .created ? 201 : 200) }
}
