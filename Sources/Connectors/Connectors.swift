/// Remote models behind HTTP connectors (templating, signing, retries) land here with the
/// remote-models work; the module exists now so the package shows the architecture.
public enum Connectors {
    public static let supportedProtocols = ["http", "aws_sigv4"]
}
