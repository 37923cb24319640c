import ShippingCore
import ServiceKit

await ServiceMain.run { _ in ShippingService() }
