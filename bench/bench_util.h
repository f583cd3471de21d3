// Small helpers the dpbench subcommands share.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dp::bench {

// "8", "64K", "1M", "1G" -> bytes, between 4 bytes and 64G; a UserError naming flag otherwise.
std::uint64_t parse_size(const std::string& text, const char* flag);

// Memory this process can still get, in bytes: MemAvailable of /proc/meminfo, or less when
// a cgroup memory limit (a container, a Slurm job) leaves less (cgroup_headroom_bytes).
// 0 when neither can be read.
double available_memory_bytes();

// What cgroup memory limits leave, in bytes: the smallest limit - usage over the memory
// cgroup of this process and its ancestors (src/util/cgroup.h; v2: memory.max and
// memory.current, v1: memory.limit_in_bytes and memory.usage_in_bytes), page cache that can
// be dropped (inactive_file) counted as free. cgroup_root: where the hierarchies are
// mounted; proc_cgroup: the process's /proc/self/cgroup. Negative when no limit applies.
double cgroup_headroom_bytes(const std::string& cgroup_root = "/sys/fs/cgroup",
                             const std::string& proc_cgroup = "/proc/self/cgroup");

// The middle element (the upper one for an even count) of a non-empty sample.
double median_of(std::vector<double> v);

}  // namespace dp::bench
