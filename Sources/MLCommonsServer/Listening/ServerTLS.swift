import Foundation
import HummingbirdTLS
import NIOSSL

/// The HTTPS side of the server: a PEM certificate chain and its private key, checked at start-up
/// so that a bad file refuses to start with a message naming it rather than failing every handshake.
/// Messages name files and problems only, never key material.
public struct ServerTLS: Sendable {
    let configuration: TLSConfiguration

    /// A file that cannot be used; `description` is what the operator sees.
    public struct FileError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Certificate files and keys are small; a larger file is not one (and is not read into memory).
    static let maxFileBytes = 1 << 20

    public static func load(certificateFile: String, keyFile: String) throws -> ServerTLS {
        let chainBytes = try read(certificateFile, what: "certificate")
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMBytes(chainBytes)
        } catch {
            throw FileError(description: "TLS certificate file \(certificateFile) is not a PEM certificate chain")
        }
        guard !chain.isEmpty else {
            throw FileError(description: "TLS certificate file \(certificateFile) holds no PEM certificate (\"-----BEGIN CERTIFICATE-----\")")
        }
        let keyBytes = try read(keyFile, what: "key")
        if String(decoding: keyBytes, as: UTF8.self).contains("ENCRYPTED") {
            throw FileError(description: "TLS key file \(keyFile) is encrypted; give the key unencrypted (openssl pkey -in KEY -out PLAIN), readable only by the server")
        }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(bytes: keyBytes, format: .pem)
        } catch {
            throw FileError(description: "TLS key file \(keyFile) is not a PEM private key")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) },
                                                                     privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        configuration.applicationProtocols = ["http/1.1"]
        // BoringSSL checks here that the key belongs to the first certificate of the chain.
        do {
            _ = try NIOSSLContext(configuration: configuration)
        } catch {
            throw FileError(description: "TLS key file \(keyFile) does not match the first certificate in \(certificateFile)")
        }
        return ServerTLS(configuration: configuration)
    }

    private static func read(_ path: String, what: String) throws -> [UInt8] {
        let attributes: [FileAttributeKey: Any]
        do {
            attributes = try FileManager.default.attributesOfItem(atPath: path)
        } catch {
            throw FileError(description: "TLS \(what) file \(path) cannot be read: it does not exist or is not accessible")
        }
        guard attributes[.type] as? FileAttributeType == .typeRegular else {
            throw FileError(description: "TLS \(what) file \(path) is not a regular file")
        }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw FileError(description: "TLS \(what) file \(path) cannot be read: permission denied")
        }
        defer { try? handle.close() }
        let data = (try? handle.read(upToCount: maxFileBytes + 1)) ?? Data()
        guard !data.isEmpty else { throw FileError(description: "TLS \(what) file \(path) is empty") }
        guard data.count <= maxFileBytes else {
            throw FileError(description: "TLS \(what) file \(path) is more than a PEM \(what) file can be (\(maxFileBytes) bytes)")
        }
        return Array(data)
    }
}
