import ProfileCore
import ServiceKit

await ServiceMain.run { _ in ProfileService() }
