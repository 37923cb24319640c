import InventoryCore
import ServiceKit

await ParticipantMain.run { _ in InventoryService() }
