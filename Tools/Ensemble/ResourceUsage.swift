#if canImport(Glibc)
import Glibc
#endif

/// This process's resource usage.
enum ResourceUsage {
    /// Peak resident set size (`ru_maxrss`, KiB on Linux), in MiB.
    static var peakResidentMegabytes: Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) / 1024
    }
}
