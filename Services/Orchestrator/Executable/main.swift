import OrchestratorCore
import ServiceKit

await ServiceMain.run { reader in try OrchestratorService(reader: reader) }
