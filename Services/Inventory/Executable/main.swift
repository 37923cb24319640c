import InventoryCore
import ServiceKit

await ServiceMain.run { _ in InventoryService() }
