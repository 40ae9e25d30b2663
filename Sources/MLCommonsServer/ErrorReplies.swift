import MLCommonsCore
import OrderedJSON
import Security
import Storage

/// Renders failures as OpenSearch does: `{"error": {"root_cause": [...], "type", "reason"}, "status"}`.
enum ErrorReplies {
    static func reply(for error: any Error) -> APIReply {
        switch error {
        case let error as MLError:
            return body(status: error.status, type: error.type, reason: error.reason, extra: error.extra)
        case let error as SecurityError:
            var reply = body(status: error.status, type: error.type, reason: error.reason)
            if error.status == 401 { reply.headers.append(("WWW-Authenticate", #"Basic realm="OpenSearch Security""#)) }
            if let seconds = error.retryAfter { reply.headers.append(("Retry-After", String(seconds))) }
            return reply
        case let error as JSONParseError:
            return body(status: 400, type: "json_parse_exception", reason: error.description)
        case let error as SearchRequestError:
            return body(status: 400, type: error.type, reason: error.reason)
        case StoreError.versionConflict(_, _, let reason):
            return body(status: 409, type: "version_conflict_engine_exception", reason: reason)
        case StoreError.uniqueViolation(let index, let field, let value, let existing):
            return body(status: 409, type: "version_conflict_engine_exception",
                        reason: "[\(index)] \(field) [\(value)] is already used by document [\(existing)]")
        case StoreError.diskFull(let reason):
            return body(status: 507, type: "insufficient_storage_exception", reason: reason)
        default:
            return body(status: 500, type: "exception", reason: "\(error)")
        }
    }

    static func body(status: Int, type: String, reason: String, extra: JSONObject = [:]) -> APIReply {
        var cause: JSONObject = ["type": .string(type), "reason": .string(reason)]
        for (key, value) in extra { cause[key] = value }
        var error = JSONObject()
        error["root_cause"] = .array([.object(cause)])
        for (key, value) in cause { error[key] = value }
        return APIReply(status: status, body: ["error": .object(error), "status": .int(Int64(status))])
    }

    /// OpenSearch core's answer for a path no handler serves (a plain string error, status 400).
    static func noHandler(method: String, uri: String) -> APIReply {
        APIReply(status: 400, body: ["error": .string("no handler found for uri [\(uri)] and method [\(method)]")])
    }

    /// OpenSearch core's 406 for a body it cannot read (`RestController`): a plain string error.
    static func unsupportedContentType(_ header: String?) -> APIReply {
        let reason = header.map { "Content-Type header [\($0)] is not supported" } ?? "Content-Type header is missing"
        return APIReply(status: 406, body: ["error": .string(reason), "status": 406])
    }

    static func wrongMethod(method: String, uri: String, allowed: [String]) -> APIReply {
        APIReply(status: 405,
                 body: ["error": .string("Incorrect HTTP method for uri [\(uri)] and method [\(method)], allowed: [\(allowed.joined(separator: ", "))]"),
                        "status": 405],
                 headers: [("Allow", allowed.joined(separator: ","))])
    }
}

/// Renders search hits as an OpenSearch search response.
enum SearchReplies {
    static func render(_ hits: SearchHits, index: String, request: SearchRequest, tookMillis: Int) -> JSON {
        let rendered: [JSON] = hits.hits.map { hit in
            var object: JSONObject = [
                "_index": .string(index), "_id": .string(hit.document.id), "_version": .int(hit.document.version),
                "_seq_no": .int(hit.document.seqNo), "_primary_term": .int(hit.document.primaryTerm),
                "_score": hit.score.map(JSON.double) ?? .null,
            ]
            if let source = request.source.apply(to: hit.document.source) { object["_source"] = .object(source) }
            if let sortValues = hit.sortValues { object["sort"] = .array(sortValues) }
            return .object(object)
        }
        let maxScore: JSON = hits.hits.compactMap(\.score).max().map(JSON.double) ?? .null
        return [
            "took": .int(Int64(tookMillis)), "timed_out": false,
            "_shards": ["total": 1, "successful": 1, "skipped": 0, "failed": 0],
            "hits": ["total": ["value": .int(Int64(hits.total)), "relation": "eq"], "max_score": maxScore, "hits": .array(rendered)],
        ]
    }
}
