import OrchestratorCore
import ServiceKit

await ServiceMain.run { _ in OrchestratorService() }
