import Security

/// Who the current request runs as. The HTTP edge sets it once per request, after authentication,
/// as the security plugin puts the user into OpenSearch's thread context for ML Commons to read.
/// Nil means security is off: there is no user and every access check passes (§8).
///
/// Work a request starts in the background (a register or deploy task) reads what it needs from
/// the caller before it starts: an unstructured `Task {}` inherits task locals, a detached one not.
public enum Caller {
    @TaskLocal public static var principal: Principal?
}
