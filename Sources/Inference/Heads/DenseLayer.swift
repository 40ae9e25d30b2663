import Foundation

/// sentence-transformers' Dense module: `activation(x · Wᵀ + b)` (distiluse: 768 → 512, tanh).
struct DenseLayer: Sendable {
    let weight: [Float]  // [out × in]
    let bias: [Float]?
    let inFeatures: Int
    let outFeatures: Int
    let tanh: Bool

    init(weight: Tensor, bias: Tensor?, activation: String) throws {
        guard weight.shape.count == 2 else { throw WeightError("the Dense weight has shape \(weight.shape)") }
        outFeatures = weight.shape[0]
        inFeatures = weight.shape[1]
        guard bias == nil || bias!.count == outFeatures else { throw WeightError("the Dense bias does not match its weight") }
        self.weight = weight.values
        self.bias = bias?.values
        switch activation.split(separator: ".").last.map(String.init) ?? "" {
        case "Tanh": tanh = true
        case "Identity", "": tanh = false
        default: throw WeightError("Dense activation \(activation) is not supported (Tanh or Identity)")
        }
    }

    /// This layer, when it takes vectors of `width` (the encoder's hidden size) as its weight says.
    func checked(inputWidth width: Int) throws -> DenseLayer {
        guard inFeatures == width, outFeatures > 0 else {
            throw WeightError("the Dense weight is [\(outFeatures) × \(inFeatures)] but the pooled embedding has \(width) values")
        }
        return self
    }

    func apply(_ x: [Float]) -> [Float] {
        var y = [Float](repeating: 0, count: outFeatures)
        x.withUnsafeBufferPointer { input in
            y.withUnsafeMutableBufferPointer { output in
                Kernels.linear(input.baseAddress!, rows: 1, inFeatures: inFeatures, weight: weight, bias: bias, outFeatures: outFeatures, into: output.baseAddress!)
            }
        }
        return tanh ? y.map { tanhf($0) } : y
    }

    /// The Dense module of a traced sentence-transformers model, if it has one.
    static func find(in module: TorchScriptModule) throws -> DenseLayer? {
        guard let path = module.classes.first(where: { $0.value.hasSuffix(".Dense") })?.key else { return nil }
        guard let weight = module.weights["\(path).linear.weight"] else { throw WeightError("the Dense module has no linear.weight") }
        return try DenseLayer(weight: weight, bias: module.weights["\(path).linear.bias"],
                              activation: module.classes["\(path).activation_function"] ?? "Identity")
    }
}
