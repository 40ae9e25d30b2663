import Foundation
import ZIPFoundation

/// Reads one entry of a zip (for tests that look inside artifacts).
struct ZIPFoundationArchive {
    let archive: Archive
    init(url: URL) throws { archive = try Archive(url: url, accessMode: .read) }

    func data(of name: String) throws -> Data {
        guard let entry = archive[name] else { throw FixtureMissing("\(name) is not in the zip") }
        var data = Data()
        _ = try archive.extract(entry) { data.append($0) }
        return data
    }
}
