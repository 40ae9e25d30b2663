import ArgumentParser
import Inference

/// `mlcommons bench-kernels`: the float32 packed product against the bf16 and int8 kernels on every
/// path this CPU runs, on the encoders' product shapes.
struct BenchKernels: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-kernels",
        abstract: "Print a markdown table of GFLOPS (fp32) and GOPS (bf16, int8 on each kernel path) of the encoder's matrix products.",
        discussion: "MLCOMMONS_KERNELS=avx512|avx2|portable chooses the path the ratio columns use (never a better one than the CPU has).")

    @Option(help: "Worker threads.")
    var threads: Int = 2

    @Option(help: "Seconds each product is timed (best of three rounds).")
    var seconds: Double = 0.3

    func validate() throws {
        guard (1...256).contains(threads) else { throw ValidationError("--threads must be 1 … 256") }
        guard seconds > 0, seconds <= 60 else { throw ValidationError("--seconds must be in (0, 60]") }
    }

    func run() throws {
        Kernels.setBLASThreads(1)
        print("kernel path: \(KernelPath.active.name) (CPU's best: \(KernelPath.cpuBest.name)), \(threads) threads\n")
        print(try LowPrecisionRate.table(shapes: [(384, 384), (384, 1536), (1536, 384)], rowCounts: [1, 32, 256],
                                         parallelism: Parallelism(threads: threads), seconds: seconds))
    }
}
