import Foundation
import Logging

/// Raises RLIMIT_NOFILE towards 524288 (or the hard limit) as the reference does.
func raiseFileLimit(logger: Logger) {
    var limit = rlimit()
    guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
    let target: rlim_t = 524_288
    limit.rlim_cur = max(limit.rlim_cur, min(target, limit.rlim_max))
    if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) != 0 {
        logger.debug("could not raise the open file limit")
    }
}

/// The process' open file limit now (the soft RLIMIT_NOFILE), capped to Int.
func openFileLimit() -> Int {
    var limit = rlimit()
    guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
    return limit.rlim_cur >= rlim_t(Int.max) ? Int.max : Int(limit.rlim_cur)
}
