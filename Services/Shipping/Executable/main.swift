import ShippingCore
import ServiceKit

await ServiceMain.run { reader in try ShippingService(reader: reader) }
