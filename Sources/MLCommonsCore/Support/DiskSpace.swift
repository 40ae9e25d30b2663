import Foundation

/// Recognises a file write that failed for want of space (ENOSPC, EDQUOT) or of the process's
/// file-size limit (EFBIG), and turns it into the 507 clients are told about.
enum DiskSpace {
    static let outOfSpaceCodes: Set<Int32> = [ENOSPC, EDQUOT, EFBIG]

    static func isOutOfSpace(_ error: any Error) -> Bool {
        var current: (any Error)? = error
        for _ in 0..<4 {
            guard let error = current else { return false }
            if let posix = error as? POSIXError, outOfSpaceCodes.contains(posix.code.rawValue) { return true }
            let ns = error as NSError
            if ns.domain == NSPOSIXErrorDomain, outOfSpaceCodes.contains(Int32(ns.code)) { return true }
            if ns.domain == NSCocoaErrorDomain, ns.code == NSFileWriteOutOfSpaceError { return true }
            current = ns.userInfo[NSUnderlyingErrorKey] as? any Error
        }
        return false
    }

    static func error(_ what: String) -> MLError {
        MLError(status: 507, type: "insufficient_storage_exception", reason: "not enough disk space to \(what)")
    }
}
