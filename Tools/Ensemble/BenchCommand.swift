import ArgumentParser

/// `ensemble bench ...`: measurements printed as a table, or one JSON object with `--json`.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure throughput and latency (build with -c release for real figures).",
        subcommands: [KafkaBenchCommand.self, EngineBenchCommand.self, StoreBenchCommand.self, SagaBenchCommand.self, AggregatorBenchCommand.self, CompareBenchCommand.self]
    )
}
