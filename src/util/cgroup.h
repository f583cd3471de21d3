// What the Linux control groups of this process allow: the directories of its cgroup for a
// controller, and the CPUs of its cpuset. A container, a Slurm job or systemd can give a
// process less than the host has; these say how much less. Everything here reads files
// only and treats what it cannot read as "no limit".
#pragma once

#include <string>
#include <vector>

namespace dp {

// This process's cgroup directories for a controller ("memory", "cpuset"), innermost first,
// up to the root of the hierarchy: cgroup v2 (the unified tree, the "0::PATH" line of
// /proc/self/cgroup, mounted at ROOT or, on hybrid systems, ROOT/unified) and v1 (a tree per
// controller at ROOT/<controller>, a "N:...,controller,...:PATH" line). When PATH does not
// exist under the mount point (a cgroup namespace), the walk starts at its deepest
// ancestor that does. One entry per hierarchy found (hybrid systems have both).
struct CgroupDirs {
  bool v2 = false;
  std::vector<std::string> dirs;  // innermost first; the last is the mount point
};
std::vector<CgroupDirs> cgroup_dirs(const std::string& controller, const std::string& root = "/sys/fs/cgroup",
                                    const std::string& proc_cgroup = "/proc/self/cgroup");

// CPUs in a list such as "0-3,8,10-11" (a cpuset file); -1 when it is not such a list.
int cpu_list_count(const std::string& list);

// CPUs of this process's cpuset cgroup (v2 cpuset.cpus.effective, v1 cpuset.effective_cpus,
// the innermost that says), or 0 when none does.
int cgroup_cpuset_count(const std::string& root = "/sys/fs/cgroup",
                        const std::string& proc_cgroup = "/proc/self/cgroup");

}  // namespace dp
