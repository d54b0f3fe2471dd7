import Foundation

/// The standard Prometheus `process_*` figures of this process, read from `/proc/self` at scrape
/// time (Linux; elsewhere the figures are left out).
struct ProcessStatistics {
    var cpuSeconds: Double?
    var residentBytes: Double?
    var virtualBytes: Double?
    var openFileDescriptors: Double?
    var maxFileDescriptors: Double?
    var startTimeSeconds: Double?

    static func current() -> ProcessStatistics {
        var figures = ProcessStatistics()
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let pageSize = Double(sysconf(Int32(_SC_PAGESIZE)))
        if let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8), let close = stat.lastIndex(of: ")"), ticks > 0 {
            // Fields after "comm)": state is field 3; utime 14, stime 15, starttime 22, vsize 23, rss 24.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 21 {
                if let user = Double(fields[11]), let system = Double(fields[12]) { figures.cpuSeconds = (user + system) / ticks }
                if let start = Double(fields[19]), let boot = bootTime() { figures.startTimeSeconds = boot + start / ticks }
                figures.virtualBytes = Double(fields[20])
                figures.residentBytes = Double(fields[21]).map { $0 * pageSize }
            }
        }
        if let descriptors = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") {
            figures.openFileDescriptors = Double(descriptors.count)
        }
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max {
            figures.maxFileDescriptors = Double(limit.rlim_cur)
        }
        return figures
    }

    /// Seconds since the epoch at boot (`btime` of /proc/stat).
    private static func bootTime() -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("btime ") {
            return Double(line.dropFirst(6).trimmingCharacters(in: .whitespaces))
        }
        return nil
    }

    /// Prometheus text lines (with HELP/TYPE) for the figures that could be read.
    var exposition: String {
        var text = ""
        func add(_ name: String, _ type: String, _ help: String, _ value: Double?) {
            guard let value else { return }
            text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n\(name) \(value)\n"
        }
        add("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.", cpuSeconds)
        add("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", residentBytes)
        add("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", virtualBytes)
        add("process_open_fds", "gauge", "Number of open file descriptors.", openFileDescriptors)
        add("process_max_fds", "gauge", "Maximum number of open file descriptors.", maxFileDescriptors)
        add("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.", startTimeSeconds)
        return text
    }
}
