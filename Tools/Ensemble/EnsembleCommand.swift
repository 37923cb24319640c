import ArgumentParser

@main
struct EnsembleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ensemble",
        abstract: "Ensemble: message-driven checkout services over Kafka.",
        subcommands: [UpCommand.self, TokenCommand.self, VaultKeyCommand.self, OrderCommand.self, ProfileCommand.self, DashboardCommand.self, BreakersCommand.self, AggregatorCommand.self, BrokerCommand.self, TopicsCommand.self, BenchCommand.self, ChaosCommand.self, ReplayCommand.self]
    )
}
