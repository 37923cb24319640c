import AggregatorCore
import ServiceKit

await ServiceMain.run { reader in try AggregatorService(reader: reader) }
