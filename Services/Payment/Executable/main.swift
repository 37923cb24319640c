import PaymentCore
import ServiceKit

await ParticipantMain.run { reader in try PaymentService(reader: reader) }
