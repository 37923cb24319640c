import ShippingCore
import ServiceKit

await ParticipantMain.run { _ in ShippingService() }
