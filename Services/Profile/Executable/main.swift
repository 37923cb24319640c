import ProfileCore
import ServiceKit

await ParticipantMain.run { _ in ProfileService() }
