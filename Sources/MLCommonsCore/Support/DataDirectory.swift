import Foundation

/// The data dir's guards at start-up: one process at a time (an exclusive `flock` on `<data-dir>/lock`,
/// held for the process's life), and private file modes (the dir 0700, every file in it 0600).
final class DataDirLock: @unchecked Sendable {
    private let descriptor: Int32
    /// Guards `released`: a second release must not close a descriptor number reused meanwhile.
    private let guardLock = NSLock()
    private var released = false

    private init(descriptor: Int32) { self.descriptor = descriptor }

    /// Takes the lock or refuses to start: a second process would fail the first one's tasks at its start.
    static func acquire(dataDir: URL) throws -> DataDirLock {
        let path = dataDir.appendingPathComponent("lock").path
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw MLError.generic("Cannot open the lock file \(path): \(String(cString: strerror(errno)))")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            close(descriptor)
            throw MLError.generic("The data dir \(dataDir.path) is in use by another mlcommons process"
                + (holder.isEmpty ? "" : " (pid \(holder))")
                + ": it holds \(path). Stop that process first, or start this one with another --data-dir.")
        }
        let pid = Array("\(getpid())\n".utf8)
        if ftruncate(descriptor, 0) == 0 { _ = pid.withUnsafeBufferPointer { pwrite(descriptor, $0.baseAddress, $0.count, 0) } }
        return DataDirLock(descriptor: descriptor)
    }

    /// Releases the lock (the process's exit does too, however it ends).
    func release() {
        guardLock.withLock {
            guard !released else { return }
            released = true
            flock(descriptor, LOCK_UN)
            close(descriptor)
        }
    }
}

enum DataDirectory {
    /// Creates the data dir if needed and makes it and everything in it private to this user: new
    /// files get 0600 through the umask, files left by an older version are fixed here.
    static func prepare(_ dataDir: URL) throws {
        umask(0o077)
        // Over a file-size limit (RLIMIT_FSIZE) a write fails with EFBIG, answered as "not enough disk
        // space", instead of SIGXFSZ killing the process.
        signal(SIGXFSZ, SIG_IGN)
        try FileManager.default.createDirectory(at: dataDir, withIntermediateDirectories: true)
        chmod(dataDir.path, 0o700)
        guard let walker = FileManager.default.enumerator(at: dataDir, includingPropertiesForKeys: [.isDirectoryKey, .isSymbolicLinkKey]) else { return }
        for case let url as URL in walker {
            let values = try? url.resourceValues(forKeys: [.isDirectoryKey, .isSymbolicLinkKey])
            if values?.isSymbolicLink == true { continue }
            chmod(url.path, values?.isDirectory == true ? 0o700 : 0o600)
        }
    }
}
