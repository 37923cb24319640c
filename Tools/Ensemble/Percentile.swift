/// Nearest-rank percentiles over sorted samples.
enum Percentile {
    /// The `quantile` (0...1) of `sorted`, which must be sorted ascending; 0 when empty.
    static func of(_ sorted: [Double], _ quantile: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        let rank = Int((quantile * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }
}
