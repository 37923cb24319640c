import PaymentCore
import ServiceKit

await ServiceMain.run { reader in try PaymentService(reader: reader) }
