import CMallocTuning

/// The agent's heap settings (see `CMallocTuning`: two arenas, fixed mmap and trim thresholds,
/// applied before `main`) and returning freed heap to the system once output has drained, so
/// RSS falls back towards idle after a large stream instead of staying at its peak.
enum MemoryTuning {
    /// Whether the load-time settings took effect (false when the environment set its own).
    static var applied: Bool { fleet_malloc_tuning_applied() == 1 }

    /// Gives free heap pages back (malloc_trim). A walk over two arenas: cheap once per drain.
    static func releaseFreeMemory() {
        _ = fleet_malloc_release_free()
    }
}
