/// The conditions of `WriteCondition`, checked the same way by every store against the document's
/// current sequence number and primary term (nil when there is no document).
extension WriteCondition {
    func verify(current: (seqNo: Int64, primaryTerm: Int64)?, index: String, id: String) throws {
        switch self {
        case .always: return
        case .mustNotExist:
            if current != nil {
                throw StoreError.versionConflict(index: index, id: id, reason: "[\(id)]: version conflict, document already exists")
            }
        case .mustExist:
            if current == nil {
                throw StoreError.versionConflict(index: index, id: id, reason: "[\(id)]: version conflict, document missing")
            }
        case .ifMatch(let seqNo, let primaryTerm):
            if current?.seqNo != seqNo || current?.primaryTerm != primaryTerm {
                throw StoreError.versionConflict(index: index, id: id,
                    reason: "[\(id)]: version conflict, required seqNo [\(seqNo)], primary term [\(primaryTerm)]. "
                        + (current.map { "current document has seqNo [\($0.seqNo)] and primary term [\($0.primaryTerm)]" } ?? "but no document was found"))
            }
        }
    }
}
